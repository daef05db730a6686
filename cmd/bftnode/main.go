package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/bftnode/bftnode/sim/simcli"
)

// Exit codes.
const (
	exitOK         = 0
	exitError      = 1
	exitViolations = 2 // the simulator found a violated guarantee
)

// errViolations makes `bftnode sim` exit with exitViolations.
var errViolations = simcli.ErrViolations

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first signal stops the node cleanly, which waits for the
		// application to finish the height being committed; a second one
		// (the default behaviour again) ends the process at once.
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv)
	stop()
	os.Exit(code)
}

// run executes the command line args and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	cli := &cli{stdout: stdout, stderr: stderr, lookupEnv: lookupEnv}
	root := cli.rootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errViolations):
		return exitViolations
	default:
		_, _ = fmt.Fprintf(stderr, "Error: %v\n", err)
		return exitError
	}
}
