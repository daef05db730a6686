package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bftnode/bftnode/consensus/engine"
	"github.com/bftnode/bftnode/consensus/wal"
	"github.com/bftnode/bftnode/privval"
	"github.com/bftnode/bftnode/types"
)

func (c *cli) walDumpCmd() *cobra.Command {
	var maxRecord int
	var messages bool
	return withFlags(&cobra.Command{
		Use:   "wal-dump [FILE|DIR]",
		Short: "Print the records of a consensus WAL, one per line",
		Long: `wal-dump prints each record of the consensus write-ahead log: its offset,
kind, payload length and, for end-of-height markers, the height. It only
reads, so it is safe on a damaged log; it stops at the first bad record and
exits non-zero. Without an argument it reads the home's WAL directory
(data/cs.wal): every segment, oldest first (wal.000001, …, then wal), each
after a "file=PATH" line. A FILE is dumped alone; a DIR like the home's.
With --messages it prints instead the signed votes and proposals the log
holds (the node's own and those it received), one per line, with full block
IDs and signatures: the input of a double-sign check across nodes.`,
		Example: `  bftnode wal-dump --home ./localnet/build/node0
  bftnode wal-dump /backup/cs.wal
  bftnode wal-dump /backup/cs.wal/wal
  bftnode wal-dump --messages --home ./localnet/build/node0`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := ""
			if len(args) == 1 {
				path = args[0]
			} else {
				cfg, err := c.homeConfig(cmd)
				if err != nil {
					return err
				}
				path = cfg.WALDir()
			}
			st, err := os.Stat(path)
			if err != nil {
				return fmt.Errorf("wal-dump: %w", err)
			}
			if !st.IsDir() {
				return c.dumpWALFile(path, maxRecord, messages, false)
			}
			files, err := wal.Files(path)
			if err != nil {
				return fmt.Errorf("wal-dump: %w", err)
			}
			if len(files) == 0 {
				return fmt.Errorf("wal-dump: no WAL files in %s", path)
			}
			for _, f := range files {
				if err := c.dumpWALFile(f, maxRecord, messages, true); err != nil {
					return err
				}
			}
			return nil
		},
	}, func(cmd *cobra.Command) {
		cmd.Flags().IntVar(&maxRecord, "max-record-size", wal.DefaultMaxRecordSize, "largest record payload accepted, in bytes")
		cmd.Flags().BoolVar(&messages, "messages", false, "print the signed votes and proposals instead of the records")
	})
}

// dumpWALFile prints the records (or, with messages, the signed votes and
// proposals) of one WAL file, after a line naming it if header is set.
func (c *cli) dumpWALFile(path string, maxRecord int, messages, header bool) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("wal-dump: %w", err)
	}
	defer f.Close() //nolint:errcheck // read-only
	if header {
		if _, err := fmt.Fprintf(c.stdout, "file=%s\n", path); err != nil {
			return fmt.Errorf("wal-dump: %w", err)
		}
	}
	if messages {
		return dumpMessages(bufio.NewReader(f), c.stdout, path, maxRecord)
	}
	if err := wal.Dump(bufio.NewReader(f), c.stdout, maxRecord); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// dumpMessages prints the signed votes and proposals of one WAL file.
func dumpMessages(r io.Reader, w io.Writer, path string, maxRecord int) error {
	votes, proposals, err := engine.WALMessages(r, maxRecord)
	fullID := func(id types.BlockID) string {
		if id.IsNil() {
			return "nil"
		}
		return fmt.Sprintf("%X:%d:%X", id.Hash[:], id.PartSetHeader.Total, id.PartSetHeader.Hash[:])
	}
	for _, v := range votes {
		if _, werr := fmt.Fprintf(w, "vote type=%s height=%d round=%d validator=%X block=%s timestamp=%s signature=%X\n",
			v.Type, v.Height, v.Round, v.ValidatorAddress[:], fullID(v.BlockID), v.Timestamp.UTC().Format(time.RFC3339Nano), v.Signature); werr != nil {
			return fmt.Errorf("wal-dump: %w", werr)
		}
	}
	for _, p := range proposals {
		if _, werr := fmt.Fprintf(w, "proposal height=%d round=%d pol_round=%d block=%s timestamp=%s signature=%X\n",
			p.Height, p.Round, p.POLRound, fullID(p.BlockID), p.Timestamp.UTC().Format(time.RFC3339Nano), p.Signature); werr != nil {
			return fmt.Errorf("wal-dump: %w", werr)
		}
	}
	if err != nil {
		_, _ = fmt.Fprintf(w, "error: %v\n", err)
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func withFlags(cmd *cobra.Command, add func(*cobra.Command)) *cobra.Command {
	add(cmd)
	return cmd
}

type resetOpts struct {
	walOnly       bool
	keepSignState bool
	unsafe        bool
}

func (c *cli) resetStateCmd() *cobra.Command {
	var o resetOpts
	cmd := &cobra.Command{
		Use:   "reset-state",
		Short: "Delete the chain data (block store, WAL, app database), keeping the keys and the last-sign state",
		Long: `reset-state removes everything in the data directory except
priv_validator_state.json: the block store, the consensus WAL and the
application database. The node then syncs the chain again from its peers.

The last-sign state is what stops this validator from signing twice at a
height it already signed; it is kept unless you pass --unsafe (or
--keep-sign-state=false). Only do that when the chain is past the last height
this validator signed, or the validator can double-sign and be slashed.

With --wal-only it only moves the consensus WAL aside (to cs.wal.moved-TIME),
for a WAL the node refuses to open as corrupt; the node starts a new one and
the last-sign state keeps it from signing anything that conflicts.`,
		Example: `  bftnode reset-state --home ./localnet/build/node2
  bftnode reset-state --wal-only   # move a corrupt consensus WAL aside
  bftnode reset-state --unsafe   # also forget what was signed: dangerous`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return c.reset(cmd, o) },
	}
	cmd.Flags().BoolVar(&o.keepSignState, "keep-sign-state", true, "keep data/priv_validator_state.json (false is unsafe: see above)")
	cmd.Flags().BoolVar(&o.walOnly, "wal-only", false, "only move the consensus WAL aside, keeping everything else")
	cmd.Flags().BoolVar(&o.unsafe, "unsafe", false, "also reset the last-sign state (same as --keep-sign-state=false; can lead to double-signing)")
	return cmd
}

func (c *cli) unsafeResetAllCmd() *cobra.Command {
	var o resetOpts
	cmd := &cobra.Command{
		Use:   "unsafe-reset-all",
		Short: "Delete all chain data; the last-sign state is kept unless --keep-sign-state=false",
		Long: `unsafe-reset-all removes all chain data in the data directory, like
reset-state. Unlike CometBFT's command of the same name it keeps
priv_validator_state.json unless you pass --keep-sign-state=false, because a
validator that forgets what it signed can double-sign.`,
		Example: `  bftnode unsafe-reset-all --home ./localnet/build/node0
  bftnode unsafe-reset-all --keep-sign-state=false   # dangerous`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return c.reset(cmd, o) },
	}
	cmd.Flags().BoolVar(&o.keepSignState, "keep-sign-state", true, "keep data/priv_validator_state.json (false can lead to double-signing)")
	return cmd
}

func (c *cli) reset(cmd *cobra.Command, o resetOpts) error {
	cfg, err := c.homeConfig(cmd)
	if err != nil {
		return err
	}
	if o.walOnly {
		if o.unsafe || !o.keepSignState {
			return errors.New("reset: --wal-only keeps the last-sign state; do not combine it with --unsafe or --keep-sign-state=false")
		}
		return c.moveWALAside(cfg.WALDir())
	}
	// Never remove keys, the last-sign state or the config, wherever db_dir points.
	keep := map[string]bool{}
	for _, p := range []string{cfg.PrivValidatorStateFile(), cfg.PrivValidatorKeyFile(), cfg.NodeKeyFile(),
		cfg.GenesisFile(), filepath.Dir(cfg.ConfigFile())} {
		abs, err := filepath.Abs(p)
		if err != nil {
			return fmt.Errorf("reset: %w", err)
		}
		keep[abs] = true
	}
	entries, err := os.ReadDir(cfg.DataDir())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reset: %w", err)
	}
	for _, e := range entries {
		p := filepath.Join(cfg.DataDir(), e.Name())
		abs, err := filepath.Abs(p)
		if err != nil || keep[abs] {
			continue
		}
		if holder := holdsAny(abs, keep); holder != "" {
			_, _ = fmt.Fprintf(c.stderr, "not removing %s: it holds %s (db_dir should be a directory of its own)\n", p, holder)
			continue
		}
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("reset: %w", err)
		}
		_, _ = fmt.Fprintf(c.stdout, "removed %s\n", p)
	}
	if o.keepSignState && !o.unsafe {
		_, err := fmt.Fprintf(c.stdout, "kept %s\n", cfg.PrivValidatorStateFile())
		return err
	}
	if err := privval.ResetState(cfg.PrivValidatorStateFile(), true); err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stderr, "WARNING: reset the last-sign state %s; this validator no longer knows what it signed.\n"+
		"Start it only once the chain is past the last height it signed, or it may double-sign.\n", cfg.PrivValidatorStateFile())
	return err
}

// holdsAny returns a path of keep that lies inside dir, or "".
func holdsAny(dir string, keep map[string]bool) string {
	for k := range keep {
		if strings.HasPrefix(k, dir+string(filepath.Separator)) {
			return k
		}
	}
	return ""
}

// moveWALAside renames the WAL directory out of the node's way.
func (c *cli) moveWALAside(dir string) error {
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("reset: no consensus WAL to move: %w", err)
	}
	dst := dir + ".moved-" + time.Now().UTC().Format("20060102T150405.000Z")
	if err := os.Rename(dir, dst); err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	_, err := fmt.Fprintf(c.stdout, "moved the consensus WAL %s to %s; the node starts a new one (the last-sign state prevents double-signing)\n", dir, dst)
	return err
}
