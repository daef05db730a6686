package types

import (
	"crypto/ed25519"
	"fmt"

	typespb "github.com/bftnode/bftnode/proto/bftnode/types"
)

// MaxVoteExtensionSize bounds a vote extension, as CometBFT v0.40.0 does
// (1 MiB): a longer one makes the vote invalid.
const MaxVoteExtensionSize = 1 << 20

// ErrInvalidExtension is a vote extension, or its signature, that is
// missing, unexpected, too large or not signed by its validator.
var ErrInvalidExtension = fmt.Errorf("%w: vote extension", ErrInvalidVote)

// ExtendsBlock says whether v is a vote that may carry an extension: a
// precommit for a block.
func (v *Vote) ExtendsBlock() bool {
	return v.Type == PrecommitType && !v.BlockID.IsNil()
}

// CheckExtension checks the shape of v's extension when vote extensions are
// (enabled) or are not in force at its height: a precommit for a block
// carries an extension signature then (its extension may be empty), and no
// other vote carries either. It does not check the signature.
func (v *Vote) CheckExtension(enabled bool) error {
	return checkExtension(enabled && v.ExtendsBlock(), v.Extension, v.ExtensionSignature)
}

// checkExtension checks one extension and its signature: both must be
// absent unless want, and then the signature present and the extension no
// larger than MaxVoteExtensionSize.
func checkExtension(want bool, ext, sig []byte) error {
	switch {
	case !want && (len(ext) > 0 || len(sig) > 0):
		return fmt.Errorf("%w: present where vote extensions are not in force, or on a vote that is not a precommit for a block", ErrInvalidExtension)
	case !want:
		return nil
	case len(ext) > MaxVoteExtensionSize:
		return fmt.Errorf("%w: %d bytes, more than the %d allowed", ErrInvalidExtension, len(ext), MaxVoteExtensionSize)
	case len(sig) != ed25519.SignatureSize:
		return fmt.Errorf("%w: signature of %d bytes, want %d", ErrInvalidExtension, len(sig), ed25519.SignatureSize)
	}
	return nil
}

// VerifyExtension checks that v's extension is signed by the validator of
// vals at v's index (VoteExtensionSignBytes). The caller has checked the
// vote itself (VerifyVote) and the extension's shape (CheckExtension).
func VerifyExtension(chainID string, vals *ValidatorSet, v *Vote) error {
	val := vals.ByIndex(v.ValidatorIndex)
	if val == nil {
		return fmt.Errorf("%w: validator index %d", ErrUnknownValidator, v.ValidatorIndex)
	}
	if !verified.verify(val.PubKey, VoteExtensionSignBytes(chainID, v), v.ExtensionSignature) {
		return fmt.Errorf("%w: %w from %X at height %d round %d", ErrInvalidExtension, ErrBadSignature, v.ValidatorAddress[:6], v.Height, v.Round)
	}
	return nil
}

// ExtensionSig is one precommit's vote extension and the validator's
// signature over it.
type ExtensionSig struct {
	Extension []byte
	Signature []byte
}

// ExtendedCommit is a commit with the vote extension of each of its
// precommits (CometBFT's ExtendedCommit): Extensions has one entry per
// signature slot, empty for an absent or nil slot and at a height where
// vote extensions are not in force. It is what the proposer of the next
// height gives the application (PrepareProposal's local_last_commit); it is
// not part of any block.
type ExtendedCommit struct {
	Commit     *Commit
	Extensions []ExtensionSig
}

// Check checks that ec's extensions have the shape vote extensions in
// force (enabled) or not at its height call for: one entry per slot, an
// extension signature on each precommit for the block when enabled, and
// nothing anywhere else.
func (ec *ExtendedCommit) Check(enabled bool) error {
	if ec == nil || ec.Commit == nil {
		return fmt.Errorf("%w: missing extended commit", ErrInvalidCommit)
	}
	if len(ec.Extensions) != len(ec.Commit.Signatures) {
		return fmt.Errorf("%w: %d extensions for %d signatures", ErrInvalidCommit, len(ec.Extensions), len(ec.Commit.Signatures))
	}
	for i, x := range ec.Extensions {
		want := enabled && ec.Commit.Signatures[i].Flag == BlockIDFlagCommit
		if err := checkExtension(want, x.Extension, x.Signature); err != nil {
			return fmt.Errorf("%w: slot %d: %w", ErrInvalidCommit, i, err)
		}
	}
	return nil
}

// VerifyExtensions checks every extension signature of ec against vals,
// the validators that signed its commit. The caller has checked ec's shape
// (Check) and the commit itself (ValidatorSet.VerifyCommit).
func (ec *ExtendedCommit) VerifyExtensions(chainID string, vals *ValidatorSet) error {
	for i, x := range ec.Extensions {
		if len(x.Signature) == 0 {
			continue
		}
		v := ec.Commit.VoteAt(i)
		v.Extension, v.ExtensionSignature = x.Extension, x.Signature
		if err := VerifyExtension(chainID, vals, v); err != nil {
			return fmt.Errorf("%w: slot %d: %w", ErrInvalidCommit, i, err)
		}
	}
	return nil
}

// WithoutExtensions is c as an extended commit with no extensions: what a
// commit of a height without vote extensions gives the next proposer.
func WithoutExtensions(c *Commit) *ExtendedCommit {
	return &ExtendedCommit{Commit: c, Extensions: make([]ExtensionSig, len(c.Signatures))}
}

// ToProto converts the extended commit.
func (ec *ExtendedCommit) ToProto() *typespb.ExtendedCommit {
	pb := &typespb.ExtendedCommit{Commit: ec.Commit.ToProto(), Extensions: make([]typespb.ExtensionSig, len(ec.Extensions))}
	for i, x := range ec.Extensions {
		pb.Extensions[i] = typespb.ExtensionSig{Extension: x.Extension, Signature: x.Signature}
	}
	return pb
}

// ExtendedCommitFromProto converts an extended commit and checks its commit
// and that it has one extension entry per signature.
func ExtendedCommitFromProto(pb *typespb.ExtendedCommit) (*ExtendedCommit, error) {
	if pb == nil {
		return nil, fmt.Errorf("%w: nil extended commit", ErrInvalidProto)
	}
	c, err := CommitFromProto(pb.Commit)
	if err != nil {
		return nil, err
	}
	if len(pb.Extensions) != len(c.Signatures) {
		return nil, fmt.Errorf("%w: %d extensions for %d commit signatures", ErrInvalidProto, len(pb.Extensions), len(c.Signatures))
	}
	ec := &ExtendedCommit{Commit: c, Extensions: make([]ExtensionSig, len(pb.Extensions))}
	for i, x := range pb.Extensions {
		ec.Extensions[i] = ExtensionSig{Extension: x.Extension, Signature: x.Signature}
	}
	return ec, nil
}
