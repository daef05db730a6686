package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DefaultMetricsAddress is where the Prometheus listener serves when it is
// turned on.
const DefaultMetricsAddress = ":26660"

// ErrNilRegistry means ServeMetrics was given no registry to serve.
var ErrNilRegistry = errors.New("telemetry: nil metrics registry")

// MetricsHandler serves the metrics of reg in the Prometheus text format.
func MetricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

// ServeMetrics serves reg at /metrics on l until ctx ends, then shuts the
// listener down and returns nil. The node calls it only when metrics are
// turned on (listening on DefaultMetricsAddress unless configured).
func ServeMetrics(ctx context.Context, l net.Listener, reg *prometheus.Registry, logger *slog.Logger) error {
	if reg == nil {
		return ErrNilRegistry
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", MetricsHandler(reg))
	return serveHTTP(ctx, l, mux, "metrics", logger)
}

// ServePprof serves Go's runtime profiles under /debug/pprof/ on l until
// ctx ends ([rpc] pprof_laddr), for `go tool pprof http://ADDR/debug/pprof/profile`.
func ServePprof(ctx context.Context, l net.Listener, logger *slog.Logger) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return serveHTTP(ctx, l, mux, "pprof", logger)
}

// serveHTTP serves h on l until ctx ends, then shuts the server down.
func serveHTTP(ctx context.Context, l net.Listener, h http.Handler, what string, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(l) }()
	logger.Info(what+" server listening", "addr", l.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("telemetry: serve %s: %w", what, err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := hs.Shutdown(shutCtx)
	<-errc
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("telemetry: shut down %s: %w", what, err)
	}
	return nil
}
