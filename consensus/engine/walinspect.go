package engine

import (
	"errors"
	"fmt"
	"io"

	"github.com/bftnode/bftnode/consensus"
	"github.com/bftnode/bftnode/consensus/wal"
	"github.com/bftnode/bftnode/types"
)

// WALMessages reads a consensus WAL (the file data/cs.wal/wal of a home)
// and returns the signed votes and proposals recorded in it, in log order:
// this node's own and those it received from peers. It is for inspection
// by tools and tests; the end-to-end suite compares them across nodes to
// look for double signing. A torn tail (a crash mid-write) ends the log
// without error; any other damage is returned, with what came before it.
func WALMessages(r io.Reader, maxRecordSize int) (votes []*types.Vote, proposals []*types.Proposal, err error) {
	d := wal.NewDecoder(r, maxRecordSize)
	for {
		rec, err := d.Decode()
		switch {
		case errors.Is(err, io.EOF), errors.Is(err, wal.ErrTruncated):
			return votes, proposals, nil
		case err != nil:
			return votes, proposals, fmt.Errorf("engine: read WAL: %w", err)
		}
		if rec.Kind != kindVote && rec.Kind != kindProposal {
			continue
		}
		ent, err := decodeRecord(rec, nil)
		if err != nil {
			return votes, proposals, fmt.Errorf("engine: WAL record at offset %d: %w", rec.Offset, err)
		}
		for _, ev := range ent.events {
			switch e := ev.(type) {
			case consensus.VoteReceived:
				votes = append(votes, e.Vote)
			case consensus.ProposalReceived:
				proposals = append(proposals, e.Proposal)
			}
		}
	}
}
