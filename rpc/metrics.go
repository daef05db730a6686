package rpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// MetricsHandler serves the metrics of reg in the Prometheus text format.
func MetricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

// ServeMetrics serves reg at /metrics on l until ctx ends, then shuts the
// listener down and returns nil. The node calls it only when metrics are
// turned on (listening on DefaultMetricsAddress unless configured).
func ServeMetrics(ctx context.Context, l net.Listener, reg *prometheus.Registry, logger *slog.Logger) error {
	if reg == nil {
		return fmt.Errorf("%w: nil metrics registry", ErrBadConfig)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", MetricsHandler(reg))
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(l) }()
	logger.Info("metrics server listening", "addr", l.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("rpc: serve metrics: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := hs.Shutdown(shutCtx)
	<-errc
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("rpc: shutdown metrics: %w", err)
	}
	return nil
}
