// Package telemetry serves what operators watch a node with, each on a
// listener of its own: the node's Prometheus registry at /metrics
// ([ServeMetrics], [instrumentation] prometheus_listen_addr) and Go's runtime
// profiles under /debug/pprof/ ([ServePprof], [rpc] pprof_laddr).
package telemetry
