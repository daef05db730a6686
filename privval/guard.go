package privval

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bftnode/bftnode/internal/diskfs"
	"github.com/bftnode/bftnode/types"
)

// guard is the double-sign guard over a last-sign state file, shared by
// every Signer: FilePV signs behind it with its key, RemoteSigner with the
// remote signer it stands in front of, so that the node never even asks for
// a signature it would refuse itself.
type guard struct {
	mu    sync.Mutex
	file  *stateFile
	state lastSignState
}

func openGuard(fsys diskfs.FS, statePath string) (*guard, error) {
	file, state, err := openState(fsys, statePath)
	if err != nil {
		return nil, err
	}
	return &guard{file: file, state: state}, nil
}

// lastSigned is the height, round and step of the last signed message.
func (g *guard) lastSigned() HRS {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.state.hrs()
}

// fresh signs a message the guard allows and has not saved: c, the
// message at the timestamp asked, whose sign bytes are sb. It returns the
// signature and the timestamp it signed with, which may differ from the one
// asked only when sign bytes at that timestamp are what it signed (a remote
// signer answering with a message it signed before).
type fresh[M any] func(c *M, sb []byte) ([]byte, time.Time, error)

// signVote is Signer.SignVoteAlongside for a signer whose guard is g and
// whose fresh signatures come from f. A precommit for a block with a
// non-nil Extension also gets its ExtensionSignature: the one f filled in
// (a remote signer answers with both), else the saved one when the same
// precommit with the same extension was signed before, else one from ext.
func (g *guard) signVote(chainID string, v *types.Vote, alongside func() error, f fresh[types.Vote], ext func(c *types.Vote, sb []byte) ([]byte, error)) error {
	step, err := voteStep(v.Type)
	if err != nil {
		return err
	}
	asked := *v
	asked.ExtensionSignature = nil
	at := func(ts time.Time) *types.Vote {
		c := asked
		c.Timestamp = ts
		return &c
	}
	signBytes := func(ts time.Time) []byte { return types.VoteSignBytes(chainID, at(ts)) }
	var freshExt []byte // an extension signature that came with a fresh vote signature
	fill := func(sig []byte, ts time.Time) { v.Signature, v.Timestamp = sig, ts }
	sign := func(ts time.Time, sb []byte) ([]byte, time.Time, error) {
		c := at(ts)
		sig, signedTS, err := f(c, sb)
		freshExt = c.ExtensionSignature
		return sig, signedTS, err
	}
	var extend func(last lastSignState, next *lastSignState) error
	if v.ExtendsBlock() && v.Extension != nil {
		extSB := types.VoteExtensionSignBytes(chainID, &asked)
		extend = func(last lastSignState, next *lastSignState) error {
			sig := freshExt
			switch {
			case len(sig) > 0:
			case bytes.Equal(last.ExtSignBytes, extSB) && last.hrs() == next.hrs():
				sig = bytes.Clone(last.ExtSignature)
			default:
				if sig, err = ext(at(v.Timestamp), extSB); err != nil {
					return err
				}
			}
			v.ExtensionSignature = sig
			next.ExtSignature, next.ExtSignBytes = bytes.Clone(sig), extSB
			return nil
		}
	}
	if err := g.sign(HRS{v.Height, v.Round, step}, v.Timestamp, signBytes, fill, alongside, sign, extend); err != nil {
		v.Signature, v.Timestamp, v.ExtensionSignature = nil, asked.Timestamp, nil
		return fmt.Errorf("%w (%s)", err, v.Type)
	}
	return nil
}

// signProposal is Signer.SignProposalAlongside for a signer whose guard is
// g and whose fresh signatures come from f.
func (g *guard) signProposal(chainID string, p *types.Proposal, alongside func() error, f fresh[types.Proposal]) error {
	asked := *p
	at := func(ts time.Time) *types.Proposal {
		c := asked
		c.Timestamp = ts
		return &c
	}
	signBytes := func(ts time.Time) []byte { return types.ProposalSignBytes(chainID, at(ts)) }
	fill := func(sig []byte, ts time.Time) { p.Signature, p.Timestamp = sig, ts }
	sign := func(ts time.Time, sb []byte) ([]byte, time.Time, error) { return f(at(ts), sb) }
	if err := g.sign(HRS{p.Height, p.Round, StepPropose}, p.Timestamp, signBytes, fill, alongside, sign, nil); err != nil {
		p.Signature, p.Timestamp = nil, asked.Timestamp
		return fmt.Errorf("%w (proposal)", err)
	}
	return nil
}

// sign applies the double-sign guard to the message at hrs whose sign bytes
// at a timestamp are signBytes(timestamp); if it may be signed, it gets the
// signature (from the saved state, or from fresh), fills in the signature
// and the timestamp signed with, then runs alongside (if not nil) and saves
// the new state, together, and returns once both are done. A fresh
// signature may be released only once sign has returned nil: then the new
// state is durable. extend, if not nil, runs once the signature is filled
// in and before alongside, with the last state and the next one, which it
// may add to (a vote extension signature).
func (g *guard) sign(hrs HRS, ts time.Time, signBytes func(time.Time) []byte, fill func([]byte, time.Time), alongside func() error,
	fresh func(time.Time, []byte) ([]byte, time.Time, error), extend func(last lastSignState, next *lastSignState) error) error {
	if hrs.Height <= 0 || hrs.Round < 0 {
		return fmt.Errorf("privval: cannot sign at %s", hrs)
	}
	if alongside == nil {
		alongside = func() error { return nil }
	}
	if extend == nil {
		extend = func(lastSignState, *lastSignState) error { return nil }
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	last := g.state
	sb := signBytes(ts)
	switch c := hrs.Compare(last.hrs()); {
	case c < 0:
		return fmt.Errorf("%w: %w: %s is below the last signed %s", ErrDoubleSign, ErrSignedPast, hrs, last.hrs())
	case c == 0 && bytes.Equal(sb, last.SignBytes):
		fill(bytes.Clone(last.Signature), ts)
		return g.signedAgain(last, extend, alongside)
	case c == 0:
		if saved, ok := timestampOnlyChange(last.SignBytes, signBytes); ok {
			fill(bytes.Clone(last.Signature), saved)
			return g.signedAgain(last, extend, alongside)
		}
		return fmt.Errorf("%w: already signed different data at %s", ErrDoubleSign, hrs)
	}
	sig, signedTS, err := fresh(ts, sb)
	if err != nil {
		return err
	}
	if !signedTS.Equal(ts) {
		ts, sb = signedTS, signBytes(signedTS)
	}
	next := lastSignState{Height: hrs.Height, Round: hrs.Round, Step: hrs.Step, Signature: sig, SignBytes: sb}
	fill(bytes.Clone(sig), ts)
	if err := extend(last, &next); err != nil {
		return err
	}
	return g.saveAlongside(next, alongside)
}

// saveAlongside saves next as the last-sign state while alongside runs,
// and returns once both are done.
func (g *guard) saveAlongside(next lastSignState, alongside func() error) error {
	done := make(chan error, 1)
	go func() { done <- alongside() }()
	err := g.file.save(next)
	if err == nil {
		g.state = next
	} else {
		err = fmt.Errorf("privval: not signing at %s: saving the last-sign state failed: %w", next.hrs(), err)
	}
	return errors.Join(err, <-done)
}

// signedAgain finishes a request for the message last holds: extend adds
// what it must (an extension signature; a new one is saved), then
// alongside runs.
func (g *guard) signedAgain(last lastSignState, extend func(last lastSignState, next *lastSignState) error, alongside func() error) error {
	next := last
	if err := extend(last, &next); err != nil {
		return err
	}
	if bytes.Equal(next.ExtSignBytes, last.ExtSignBytes) {
		return alongside()
	}
	return g.saveAlongside(next, alongside)
}
