// Command bftnode-sim is `bftnode sim` with Byzantine validators: the
// simulator's validators run the real engine, and --byzantine of them
// misbehave through the decorators of package internal/byzantine (package
// simmodes puts them on the simulator's validators). It is a
// development and test tool, never released, so that the bftnode binary
// links no Byzantine behaviour.
//
//	bftnode-sim --validators 4 --byzantine 1 --behaviour mix --seeds 100
//
// The exit status is 0 when no violation was found, 2 when one was, 1 on
// error.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/bftnode/bftnode/internal/byzantine/simmodes"
	"github.com/bftnode/bftnode/sim/simcli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	cmd := simcli.Command(os.Stdout, os.Stderr, simmodes.Extension())
	err := cmd.ExecuteContext(ctx)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, simcli.ErrViolations):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "bftnode-sim:", err)
		os.Exit(1)
	}
}
