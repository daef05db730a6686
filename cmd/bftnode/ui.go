package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/bftnode/bftnode/ui"
)

func (c *cli) uiCmd() *cobra.Command {
	var laddr string
	cmd := &cobra.Command{
		Use:   "ui FILE",
		Short: "Play a simulated run's trace in the web view of consensus",
		Long: `ui serves the web view of consensus with the trace FILE that
` + "`bftnode sim --seed N --trace FILE`" + ` (or, with Byzantine validators, the
bftnode-sim development binary) wrote, and prints its URL. The page plays
the run with a slider: each validator's steps, the votes and proposals
(a Byzantine validator's conflicting ones in red), timeouts, locks,
partitions, crashes and the decisions, with a banner where two validators
decided differently at one height. Stop it with Ctrl-C.

A running node serves the same page live at http://RPC/ui/ with [rpc] ui = true.`,
		Example: `  bftnode sim --validators 4 --crashes 2 --seed 3 --trace run.jsonl
  bftnode ui run.jsonl --laddr 127.0.0.1:8080
  bftnode-sim --validators 4 --byzantine 2 --behaviour equivocate --seed 1 --trace fork.jsonl   # go build ./internal/byzantine/cmd/bftnode-sim
  bftnode ui fork.jsonl`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.serveUI(cmd.Context(), args[0], laddr)
		},
	}
	cmd.Flags().StringVar(&laddr, "laddr", "127.0.0.1:0", "host:port to serve the page on (port 0: any free port)")
	return cmd
}

func (c *cli) serveUI(ctx context.Context, file, laddr string) error {
	trace, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("read the trace: %w (write one with `bftnode sim --seed N --trace FILE`)", err)
	}
	ln, err := net.Listen("tcp", laddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (choose another --laddr)", laddr, err)
	}
	mux := http.NewServeMux()
	mux.Handle(ui.Prefix, ui.Handler(trace))
	mux.Handle("/", http.RedirectHandler(ui.Prefix, http.StatusFound))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if _, err := fmt.Fprintf(c.stdout, "playing %s at http://%s%s (Ctrl-C stops)\n", file, ln.Addr(), ui.Prefix); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = srv.Close() })
	defer stop()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
