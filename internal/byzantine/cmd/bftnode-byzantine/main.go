// Command bftnode-byzantine runs a bftnode validator that misbehaves on
// purpose, for fault tests only: the node of `bftnode start --home DIR`
// with the decorators of package internal/byzantine around its transport,
// its signer and (for amnesia) its consensus core. The tests that run
// Byzantine validators as real processes build it; it is never released.
//
//	bftnode-byzantine --home DIR --mode equivocate|doublevote|amnesia|futuretime
//
// Settings come from DIR's config.toml and the BFTNODE_* environment
// variables, as for `bftnode start`. SIGINT or SIGTERM stop it cleanly.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/bftnode/bftnode/config"
	"github.com/bftnode/bftnode/internal/byzantine"
	"github.com/bftnode/bftnode/node"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bftnode-byzantine:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bftnode-byzantine", flag.ContinueOnError)
	home := fs.String("home", "", "the node's home directory (required)")
	modeName := fs.String("mode", "", "the misbehaviour: equivocate, doublevote, amnesia or futuretime (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	mode, err := byzantine.ParseMode(*modeName)
	switch {
	case err != nil:
		return fmt.Errorf("--mode: %w", err)
	case mode == byzantine.None || *home == "":
		return errors.New("--home and --mode are required (see -h)")
	}
	cfg, err := config.Load(*home, os.LookupEnv)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return fmt.Errorf("log_level %q: want debug, info, warn or error", cfg.LogLevel)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	g, err := config.LoadGenesis(cfg.GenesisFile())
	if err != nil {
		return err
	}
	key, err := byzantine.ReadKey(cfg.PrivValidatorKeyFile())
	if err != nil {
		return err
	}
	decorate := byzantine.Decorate(mode, key, g.ChainID, logger.With("module", "byzantine"))
	n, err := node.New(ctx, cfg, logger, node.WithEngineDeps(decorate))
	if err != nil {
		return err
	}
	return n.Run(ctx)
}
