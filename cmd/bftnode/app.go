package main

import (
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bftnode/bftnode/app"
	"github.com/bftnode/bftnode/app/abcisocket"
	"github.com/bftnode/bftnode/app/kvstore"
)

func (c *cli) appCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "app",
		Short: "Run a built-in application as an ABCI socket server",
	}
	var listen, db string
	var retainBlocks int64
	kv := &cobra.Command{
		Use:   "kvstore",
		Short: "Serve the example key/value app over an ABCI socket",
		Long: `app kvstore runs the example key=value application as a separate process,
serving ABCI 2.0 on --listen. Point a node at it with proxy_app = the same
address (by default a node runs kvstore in-process instead). Its state is kept
in --db (default <home>/data/app.db). It runs until interrupted.`,
		Example: `  bftnode app kvstore --listen tcp://127.0.0.1:26658
  bftnode app kvstore --listen unix:///tmp/kv.sock --db /tmp/kv.db`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			level, format := c.logLevel, c.logFormat
			if level == "" {
				level = "info"
			}
			logger, err := newLogger(c.stderr, level, format)
			if err != nil {
				return err
			}
			if db == "" {
				db = filepath.Join(c.home, "data", "app.db")
			}
			a, err := kvstore.Open(db)
			if err != nil {
				return fmt.Errorf("app kvstore: %w", err)
			}
			defer a.Close() //nolint:errcheck // closed on the way out; Serve returned already
			var served app.Application = a
			if retainBlocks > 0 {
				served = &kvstore.Retaining{App: a, Blocks: retainBlocks}
			}
			ln, err := abcisocket.Listen(listen)
			if err != nil {
				return fmt.Errorf("app kvstore: --listen %q: %w", listen, err)
			}
			logger.Info("serving the kvstore app over ABCI", "addr", abcisocket.URL(ln), "db", db)
			return (&abcisocket.Server{App: served, Logger: logger}).Serve(cmd.Context(), ln)
		},
	}
	kv.Flags().StringVar(&listen, "listen", "tcp://127.0.0.1:26658", "address to serve on: tcp://host:port or unix:///path")
	kv.Flags().StringVar(&db, "db", "", "directory of the app's database (default <home>/data/app.db)")
	kv.Flags().Int64Var(&retainBlocks, "retain-blocks", 0, "return from Commit a retain height that lets the node prune all but the last N blocks (0: keep all)")
	cmd.AddCommand(kv)
	return cmd
}

// newLogger builds the logger that level (debug, info, warn, error) and
// format (text or json) describe.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch strings.ToLower(format) {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", format)
}
