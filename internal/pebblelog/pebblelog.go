// Package pebblelog sends Pebble's log messages to a slog.Logger, so every
// Pebble database of the node (block store, kvstore app) logs through the
// node's logger instead of printing to standard error.
package pebblelog

import (
	"fmt"
	"log/slog"
)

// Logger implements pebble.Logger over a slog.Logger.
type Logger struct{ L *slog.Logger }

// New returns a Pebble logger writing to l, or discarding when l is nil.
func New(l *slog.Logger) Logger {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return Logger{L: l.With("component", "pebble")}
}

// Infof logs Pebble's informational messages (WAL and compaction chatter) at
// debug level.
func (p Logger) Infof(format string, args ...any) { p.L.Debug(fmt.Sprintf(format, args...)) }

// Errorf logs an error.
func (p Logger) Errorf(format string, args ...any) { p.L.Error(fmt.Sprintf(format, args...)) }

// Fatalf reports a broken invariant inside Pebble, which must not carry on.
func (p Logger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.L.Error(msg)
	panic("pebble: " + msg)
}
