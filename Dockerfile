# The bftnode image: a static binary in an empty image. `make docker` builds
# it; docker-compose.yml runs a 4-validator network from it.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/bftnode ./cmd/bftnode

FROM scratch
COPY --from=build /out/bftnode /bftnode
# Homes live under /net (a volume); see docker-compose.yml.
ENTRYPOINT ["/bftnode"]
CMD ["--help"]
