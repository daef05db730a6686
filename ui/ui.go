package ui

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed assets
var assets embed.FS

// Prefix is the path the page is served under.
const Prefix = "/ui/"

// Handler serves the page and its assets under Prefix. With a non-nil
// trace it also serves Prefix+"trace.jsonl", which the page then plays
// instead of following a node.
func Handler(trace []byte) http.Handler {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded tree always holds assets/
	}
	files := http.StripPrefix(Prefix, http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == Prefix+"trace.jsonl" && trace != nil {
			w.Header().Set("Content-Type", "application/x-ndjson")
			_, _ = w.Write(trace)
			return
		}
		files.ServeHTTP(w, r)
	})
}
