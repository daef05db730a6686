package light

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/bftnode/bftnode/types"
)

// ErrConflict is wrapped by a *ConflictError: a witness proved a header
// that differs from the primary's at the same height, both verifying from
// the same trusted header. One of the two chains is a fork signed by
// validators of the trusted set; the client stops.
var ErrConflict = errors.New("conflicting headers: the primary and a witness prove different blocks at the same height")

// ConflictError reports a divergence between the primary and a witness.
type ConflictError struct {
	Height       int64
	CommonHeight int64 // the trusted height both verify from (0 at start)
	Primary      string
	PrimaryBlock *LightBlock
	Witness      string
	WitnessBlock *LightBlock
	EvidenceFile string // the JSON file keeping both light blocks, if any
	// AgainstPrimary is the evidence that the primary's chain attacks the
	// witness's, sent to the witness; AgainstWitness the converse, sent to
	// the primary (see attackEvidence). Nil at start, or when the other
	// side could not prove the divergence block by block.
	AgainstPrimary, AgainstWitness *types.LightClientAttackEvidence
}

func (e *ConflictError) Error() string {
	s := fmt.Sprintf("%v: at height %d primary %s has header %X, witness %s has header %X",
		ErrConflict, e.Height, e.Primary, e.PrimaryBlock.Hash(), e.Witness, e.WitnessBlock.Hash())
	if e.CommonHeight > 0 {
		s += fmt.Sprintf(" (both verify from trusted height %d)", e.CommonHeight)
	}
	if e.EvidenceFile != "" {
		s += "; both light blocks are kept in " + e.EvidenceFile
	}
	return s + "; stop trusting this chain until the fork is explained"
}

func (e *ConflictError) Unwrap() error { return ErrConflict }

// witnessRetries bound how long a lagging witness is waited for.
const (
	witnessRetries = 5
	witnessBackoff = 200 * time.Millisecond
)

// compareWitnesses asks every witness for the height of the last block of
// trace, the primary's blocks from the trusted one to the target verified
// (or only the target, at start). A witness that has the same header
// confirms it; one that does not have the height yet, or cannot be
// reached, is passed over this time; one whose different header does not
// verify from the trusted block (or, at start, whose commit does not
// verify) is faulty and dropped. A different header that verifies is a
// conflict: the evidence is saved, built into light client attack
// evidence and reported to both sides (attackEvidence), and a
// *ConflictError returned.
func (c *Client) compareWitnesses(ctx context.Context, trace []*LightBlock) error {
	target := trace[len(trace)-1]
	var trusted *LightBlock
	if len(trace) > 1 {
		trusted = trace[0]
	}
	var kept []Provider
	for _, w := range c.witnesses {
		lb, err := c.witnessBlock(ctx, w, target.Height())
		if err != nil {
			c.logger.Warn("witness could not confirm the header", "witness", w.ID(), "height", target.Height(), "err", err)
			kept = append(kept, w)
			continue
		}
		if lb.Hash() == target.Hash() {
			kept = append(kept, w)
			continue
		}
		if err := c.verifyWitnessBlock(ctx, w, trusted, lb); err != nil {
			c.logger.Warn("dropping a faulty witness: its header differs from the primary's and does not verify",
				"witness", w.ID(), "height", target.Height(), "hash", fmt.Sprintf("%X", lb.Hash()), "err", err)
			continue
		}
		conflict := &ConflictError{
			Height: target.Height(), Primary: c.primary.ID(), PrimaryBlock: target, Witness: w.ID(), WitnessBlock: lb,
		}
		if trusted != nil {
			conflict.CommonHeight = trusted.Height()
			c.attackEvidence(ctx, conflict, trace, w)
		}
		if err := c.saveEvidence(conflict); err != nil {
			return errors.Join(conflict, err)
		}
		c.logger.Error("conflicting headers", "height", conflict.Height,
			"primary", conflict.Primary, "primary_hash", fmt.Sprintf("%X", target.Hash()),
			"witness", conflict.Witness, "witness_hash", fmt.Sprintf("%X", lb.Hash()), "evidence", conflict.EvidenceFile)
		return conflict
	}
	if len(kept) == 0 {
		return fmt.Errorf("light: every witness was faulty and dropped: %w", ErrNoWitnesses)
	}
	c.witnesses = kept
	return nil
}

// witnessBlock fetches the light block at height from w, waiting a little
// for a witness that is a few blocks behind.
func (c *Client) witnessBlock(ctx context.Context, w Provider, height int64) (*LightBlock, error) {
	delay := witnessBackoff
	for i := 0; ; i++ {
		lb, err := fetch(ctx, w, height)
		if err == nil || !errors.Is(err, ErrLightBlockNotFound) || i == witnessRetries {
			return lb, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay *= 2
	}
}

// verifyWitnessBlock checks the witness's block as the primary's was
// checked: from trusted with the witness's own blocks, or at start on its
// own commit.
func (c *Client) verifyWitnessBlock(ctx context.Context, w Provider, trusted, lb *LightBlock) error {
	if trusted == nil {
		if err := lb.ValidateBasic(c.chainID); err != nil {
			return err
		}
		return VerifyCommitLight(c.chainID, lb.ValidatorSet, lb.Commit.BlockID, lb.Height(), lb.Commit)
	}
	_, err := c.verifyForward(ctx, w, trusted, lb)
	return err
}

// evidenceFile is the JSON kept for a conflict.
type evidenceFile struct {
	DetectedAt   time.Time    `json:"detected_at"`
	ChainID      string       `json:"chain_id"`
	Height       int64        `json:"height,string"`
	CommonHeight int64        `json:"common_height,string"`
	Primary      evidenceSide `json:"primary"`
	Witness      evidenceSide `json:"witness"`
	Note         string       `json:"note"`
}

type evidenceSide struct {
	Provider   string          `json:"provider"`
	Hash       hexBytes        `json:"hash"`
	LightBlock *lightBlockJSON `json:"light_block"`
}

func (c *Client) saveEvidence(e *ConflictError) error {
	if c.opts.EvidenceDir == "" {
		return nil
	}
	now := c.opts.Now().UTC()
	ph, wh := e.PrimaryBlock.Hash(), e.WitnessBlock.Hash()
	doc := evidenceFile{
		DetectedAt: now, ChainID: c.chainID, Height: e.Height, CommonHeight: e.CommonHeight,
		Primary: evidenceSide{Provider: e.Primary, Hash: ph[:], LightBlock: lightBlockToJSON(e.PrimaryBlock)},
		Witness: evidenceSide{Provider: e.Witness, Hash: wh[:], LightBlock: lightBlockToJSON(e.WitnessBlock)},
		Note:    "both light blocks verify from the trusted header at common_height; validators that signed both commits equivocated",
	}
	if e.CommonHeight == 0 {
		doc.Note = "both light blocks carry a commit of more than 2/3 of their validator set at the header the user trusted to begin with"
	}
	if err := os.MkdirAll(c.opts.EvidenceDir, 0o700); err != nil {
		return fmt.Errorf("light: keep evidence: %w", err)
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("light: encode evidence: %w", err)
	}
	name := filepath.Join(c.opts.EvidenceDir, fmt.Sprintf("conflict-%d-%s.json", e.Height, now.Format("20060102T150405.000000000Z")))
	if err := os.WriteFile(name, b, 0o600); err != nil {
		return fmt.Errorf("light: keep evidence: %w", err)
	}
	e.EvidenceFile = name
	return nil
}
