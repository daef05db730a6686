package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/bftnode/bftnode/app/kvstore"
	"github.com/bftnode/bftnode/blockstore"
	"github.com/bftnode/bftnode/config"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
)

func (c *cli) rollbackCmd() *cobra.Command {
	var hard bool
	cmd := &cobra.Command{
		Use:   "rollback",
		Short: "Roll the node's state back by one height (after an app hash disagreement)",
		Long: `rollback undoes the execution of the latest block H, for an operator whose
application computed a wrong app hash at H. The node's state becomes the
state after H-1, rebuilt from the block store. Block H stays in the store and
the node executes it again when it starts; with --hard block H is deleted as
well and the node decides it again (replaying its WAL) or fetches it from
its peers.

Roll the application back to height H-1 too (with its own tool), fix it, then
start the node. An application left at H is not executed again: after a soft
rollback the node takes H's results from the store, after a hard one it
refuses to start. The last-sign state (priv_validator_state.json) is never
touched. Stop the node first.`,
		Example: `  bftnode rollback --home ./localnet/build/node0
  bftnode rollback --hard   # also delete the latest block`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.homeConfig(cmd)
			if err != nil {
				return err
			}
			return c.rollback(cmd.Context(), cfg, hard)
		},
	}
	cmd.Flags().BoolVar(&hard, "hard", false, "also delete the latest block from the block store")
	return cmd
}

func (c *cli) rollback(ctx context.Context, cfg config.Config, hard bool) error {
	dir := cfg.BlockstoreDir()
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("rollback refused: nothing to roll back: there is no block store in %s", dir)
	}
	s, err := blockstore.Open(dir, blockstore.Options{})
	if err != nil {
		return fmt.Errorf("rollback: %w (is the node still running? stop it first)", err)
	}
	from := s.Height()
	height, err := s.Rollback(hard)
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, blockstore.ErrCannotRollback) {
		return fmt.Errorf("rollback refused: %w", err)
	}
	if err != nil {
		return fmt.Errorf("rollback: %w", err)
	}
	next := height + 1
	if hard {
		c.printf("rolled back the state to height %d and deleted block %d from the block store; the node decides it again (from its WAL) or fetches it from its peers\n", height, from)
	} else {
		c.printf("rolled back the state to height %d; block %d stays in the block store and the node executes it again when it starts\n", height, next)
	}
	if cfg.ProxyApp != "kvstore" {
		c.printf("If your application is at height %d, roll it back to height %d too, then start the node.\n", next, height)
		return nil
	}
	appH, err := builtinAppHeight(ctx, cfg.AppDBDir())
	switch {
	case err != nil:
		c.printf("Could not read the built-in application's height (%v); it must not be above height %d. Then start the node.\n", err, height)
	case appH <= height:
		c.printf("The built-in application is at height %d. Start the node.\n", appH)
	case hard:
		c.printf("The built-in application is at height %d and cannot be rolled back: remove %s (the node replays the stored blocks to a new one), then start the node.\n", appH, cfg.AppDBDir())
	default:
		c.printf("The built-in application is at height %d: the node takes block %d's results from the store without executing it again. "+
			"To execute it again, remove %s (the node replays the stored blocks to a new one), then start the node.\n", appH, next, cfg.AppDBDir())
	}
	return nil
}

// builtinAppHeight is the last height the built-in kvstore in dir
// committed, 0 if it has no database.
func builtinAppHeight(ctx context.Context, dir string) (int64, error) {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	a, err := kvstore.Open(dir)
	if err != nil {
		return 0, err
	}
	defer a.Close() //nolint:errcheck // read only
	info, err := a.Info(ctx, &abci.RequestInfo{})
	if err != nil {
		return 0, err
	}
	return info.LastBlockHeight, nil
}

func (c *cli) printf(format string, args ...any) {
	_, _ = fmt.Fprintf(c.stdout, format, args...)
}
