package privval

import (
	"cmp"
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/bftnode/bftnode/types"
)

// Signer signs the node's own consensus messages.
type Signer interface {
	PubKey() ed25519.PublicKey
	Address() types.Address
	// SignVote fills v.Signature. When the same vote was signed before with
	// another timestamp, it sets v.Timestamp to the signed one.
	SignVote(chainID string, v *types.Vote) error
	// SignProposal fills p.Signature, with the same timestamp rule as SignVote.
	SignProposal(chainID string, p *types.Proposal) error
	// SignVoteAlongside is SignVote that, once v is signed, runs alongside
	// and the save of the last-sign state together, and returns once both
	// are done: nil only if both succeeded. alongside may read v and store
	// it durably (the consensus WAL), but must not send it anywhere: the
	// signature may be released only after SignVoteAlongside returned nil.
	// A refused vote never reaches alongside. On any error v.Signature is
	// nil.
	SignVoteAlongside(chainID string, v *types.Vote, alongside func() error) error
	// SignProposalAlongside is SignProposal with alongside, as in
	// SignVoteAlongside.
	SignProposalAlongside(chainID string, p *types.Proposal, alongside func() error) error
}

// Step orders the messages of one round for the double-sign guard.
type Step int8

// Steps, as in CometBFT's last-sign state.
const (
	StepNone      Step = 0
	StepPropose   Step = 1
	StepPrevote   Step = 2
	StepPrecommit Step = 3
)

// Errors of the signer.
var (
	// ErrDoubleSign is a refusal to sign a message that conflicts with, or
	// comes before, the last signed one.
	ErrDoubleSign = errors.New("privval: refusing to double-sign")
	// ErrSignedPast comes with ErrDoubleSign when the message is below the
	// last signed one: the signer has saved a later message.
	ErrSignedPast = errors.New("privval: already signed past it")
	// ErrCorruptState means the last-sign state file cannot be read.
	ErrCorruptState = errors.New("privval: unreadable last-sign state")
	// ErrInvalidKey means the key file or key is malformed.
	ErrInvalidKey = errors.New("privval: invalid key")
	// ErrRemoteSigner means a remote signer did not sign: it refused (see
	// RemoteError), did not answer in time, was not connected, or answered
	// with something invalid. Nothing was signed or saved; the message is
	// simply not sent.
	ErrRemoteSigner = errors.New("privval: the remote signer did not sign")
	// ErrUnsafeNotConfirmed is returned by ResetState without its unsafe flag.
	ErrUnsafeNotConfirmed = errors.New("privval: resetting the last-sign state is unsafe and was not confirmed")
)

func voteStep(t types.SignedMsgType) (Step, error) {
	switch t {
	case types.PrevoteType:
		return StepPrevote, nil
	case types.PrecommitType:
		return StepPrecommit, nil
	}
	return StepNone, fmt.Errorf("privval: cannot sign a vote of type %s", t)
}

// HRS is a height, round and step.
type HRS struct {
	Height int64
	Round  int32
	Step   Step
}

// Compare orders two HRS: height, then round, then step.
func (a HRS) Compare(b HRS) int {
	if c := cmp.Compare(a.Height, b.Height); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Round, b.Round); c != 0 {
		return c
	}
	return cmp.Compare(a.Step, b.Step)
}

func (a HRS) String() string {
	return fmt.Sprintf("height %d round %d step %d", a.Height, a.Round, a.Step)
}
