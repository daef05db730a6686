package blockstore

import (
	"errors"
	"fmt"
	"slices"
	"time"

	storepb "github.com/bftnode/bftnode/proto/bftnode/store"
	tmtypes "github.com/bftnode/bftnode/proto/tendermint/types"
	"github.com/bftnode/bftnode/types"
)

// ErrInvalidParams is wrapped by the error for consensus parameters, or an
// application's update of them, that break a rule of the protocol.
var ErrInvalidParams = errors.New("invalid consensus parameters")

// MaxBlockSizeBytes is the largest block the protocol allows (CometBFT's
// limit): what a block.max_bytes of -1 stands for.
const MaxBlockSizeBytes = 100 << 20

// Sizes that bound a block's encoding besides its txs and evidence, as
// CometBFT budgets them (the header with an app hash of up to 32 bytes, the
// block's own framing, a commit and one ed25519 signature entry of it).
const (
	maxHeaderBytes      = 626
	maxBlockOverhead    = 11
	maxCommitOverhead   = 94
	maxCommitSigOverall = 64 + 20 + 1 + 14 + 11 + 3
)

// knownPubKeyTypes are the validator key types CometBFT v0.40.0 knows.
// bftnode's validators are ed25519, which must stay allowed.
var knownPubKeyTypes = []string{"ed25519", "secp256k1", "secp256k1eth", "bls12_381", "mldsa65"}

// ConsensusParams are the consensus parameters in force: CometBFT's, group
// by group (block, evidence, validator, version, abci). The authority group
// is not kept: bftnode's ABCI messages do not carry it.
type ConsensusParams struct {
	MaxBlockBytes              int64         // maximum size of a block's encoding; -1 for MaxBlockSizeBytes
	MaxGas                     int64         // maximum gas per block; -1 for no limit
	EvidenceMaxAgeNumBlocks    int64         // evidence older than this many blocks…
	EvidenceMaxAgeDuration     time.Duration // …and older than this is rejected
	EvidenceMaxBytes           int64         // evidence bytes a block may carry
	PubKeyTypes                []string      // validator key types allowed
	AppVersion                 uint64        // version.app
	VoteExtensionsEnableHeight int64         // abci.vote_extensions_enable_height; 0: never
}

// Hash is the headers' consensus hash of the parameters (block size and
// gas limits only, as in CometBFT).
func (p ConsensusParams) Hash() types.Hash {
	return types.ConsensusParamsHash(p.MaxBlockBytes, p.MaxGas)
}

// VoteExtensionsEnabled says whether vote extensions are in force at
// height h: from abci.vote_extensions_enable_height on, never when it is 0.
func (p ConsensusParams) VoteExtensionsEnabled(h int64) bool {
	return p.VoteExtensionsEnableHeight > 0 && h >= p.VoteExtensionsEnableHeight
}

// BlockMaxBytes is the largest block encoding the parameters allow, with
// -1 resolved to MaxBlockSizeBytes.
func (p ConsensusParams) BlockMaxBytes() int64 {
	if p.MaxBlockBytes == -1 {
		return MaxBlockSizeBytes
	}
	return p.MaxBlockBytes
}

// MaxDataBytes is how many bytes of txs a proposal may hold under the
// parameters, with evidenceBytes of evidence and a last commit of vals
// signatures: what is left of BlockMaxBytes after the header, the commit,
// the evidence and the block's framing. It is never negative.
func (p ConsensusParams) MaxDataBytes(evidenceBytes int64, vals int) int64 {
	n := p.BlockMaxBytes() - maxBlockOverhead - maxHeaderBytes - maxCommitOverhead - maxCommitSigOverall*int64(vals) - evidenceBytes
	return max(n, 0)
}

// Validate checks the parameters against the protocol's rules (those of
// CometBFT's ValidateBasic), and that bftnode's ed25519 validators stay
// allowed.
func (p ConsensusParams) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidParams, fmt.Sprintf(format, args...))
	}
	switch {
	case p.MaxBlockBytes == 0 || p.MaxBlockBytes < -1:
		return bad("block.max_bytes is %d; it must be positive, or -1 for the protocol's limit", p.MaxBlockBytes)
	case p.MaxBlockBytes > MaxBlockSizeBytes:
		return bad("block.max_bytes is %d; the protocol's limit is %d", p.MaxBlockBytes, MaxBlockSizeBytes)
	case p.MaxGas < -1:
		return bad("block.max_gas is %d; it must be non-negative, or -1 for no limit", p.MaxGas)
	case p.EvidenceMaxAgeNumBlocks <= 0:
		return bad("evidence.max_age_num_blocks is %d; it must be positive", p.EvidenceMaxAgeNumBlocks)
	case p.EvidenceMaxAgeDuration <= 0:
		return bad("evidence.max_age_duration is %v; it must be positive", p.EvidenceMaxAgeDuration)
	case p.EvidenceMaxBytes < 0 || p.EvidenceMaxBytes > p.BlockMaxBytes():
		return bad("evidence.max_bytes is %d; it must lie in 0..block.max_bytes (%d)", p.EvidenceMaxBytes, p.BlockMaxBytes())
	case p.VoteExtensionsEnableHeight < 0:
		return bad("abci.vote_extensions_enable_height is %d; it must not be negative", p.VoteExtensionsEnableHeight)
	case !slices.Contains(p.PubKeyTypes, "ed25519"):
		return bad("validator.pub_key_types %q leaves out ed25519, the only key type bftnode's validators have", p.PubKeyTypes)
	}
	for _, t := range p.PubKeyTypes {
		if !slices.Contains(knownPubKeyTypes, t) {
			return bad("validator.pub_key_types holds %q; known types are %q", t, knownPubKeyTypes)
		}
	}
	return nil
}

// Update returns the parameters after an application's update u
// (ConsensusParamUpdates of FinalizeBlock at height), which replaces each
// group it sets, as CometBFT applies it; p is unchanged. The result must
// pass Validate, and the vote extension height may only move while it is
// still in the future: it cannot be set to a height already reached, nor
// changed or turned off once reached.
func (p ConsensusParams) Update(u *tmtypes.ConsensusParams, height int64) (ConsensusParams, error) {
	if u == nil {
		return p, nil
	}
	next := p
	next.PubKeyTypes = slices.Clone(p.PubKeyTypes)
	if b := u.Block; b != nil {
		next.MaxBlockBytes, next.MaxGas = b.MaxBytes, b.MaxGas
	}
	if e := u.Evidence; e != nil {
		next.EvidenceMaxAgeNumBlocks, next.EvidenceMaxAgeDuration, next.EvidenceMaxBytes = e.MaxAgeNumBlocks, e.MaxAgeDuration, e.MaxBytes
	}
	if v := u.Validator; v != nil {
		next.PubKeyTypes = slices.Clone(v.PubKeyTypes)
	}
	if v := u.Version; v != nil {
		next.AppVersion = v.App
	}
	if a := u.Abci; a != nil {
		next.VoteExtensionsEnableHeight = a.VoteExtensionsEnableHeight
	}
	if err := next.Validate(); err != nil {
		return p, err
	}
	if u.Abci != nil {
		if err := checkVoteExtensionMove(p.VoteExtensionsEnableHeight, next.VoteExtensionsEnableHeight, height); err != nil {
			return p, err
		}
	}
	return next, nil
}

// checkVoteExtensionMove checks a change of the vote extension height from
// old to upd by the block at height.
func checkVoteExtensionMove(old, upd, height int64) error {
	if old == upd {
		return nil
	}
	if old > 0 && old <= height {
		return fmt.Errorf("%w: vote extensions are enabled since height %d; they cannot be moved (to %d) or turned off", ErrInvalidParams, old, upd)
	}
	if upd != 0 && upd <= height {
		return fmt.Errorf("%w: abci.vote_extensions_enable_height %d is not after the height %d that sets it", ErrInvalidParams, upd, height)
	}
	return nil
}

// ToProto is p in ABCI's form, every group set (as InitChain and the RPC
// give them).
func (p ConsensusParams) ToProto() *tmtypes.ConsensusParams {
	return &tmtypes.ConsensusParams{
		Block:     &tmtypes.BlockParams{MaxBytes: p.MaxBlockBytes, MaxGas: p.MaxGas},
		Evidence:  &tmtypes.EvidenceParams{MaxAgeNumBlocks: p.EvidenceMaxAgeNumBlocks, MaxAgeDuration: p.EvidenceMaxAgeDuration, MaxBytes: p.EvidenceMaxBytes},
		Validator: &tmtypes.ValidatorParams{PubKeyTypes: slices.Clone(p.PubKeyTypes)},
		Version:   &tmtypes.VersionParams{App: p.AppVersion},
		Abci:      &tmtypes.ABCIParams{VoteExtensionsEnableHeight: p.VoteExtensionsEnableHeight},
	}
}

func (p ConsensusParams) toStore() storepb.ConsensusParams {
	return storepb.ConsensusParams{
		MaxBlockBytes:              p.MaxBlockBytes,
		MaxGas:                     p.MaxGas,
		EvidenceMaxAgeNumBlocks:    p.EvidenceMaxAgeNumBlocks,
		EvidenceMaxAgeDuration:     p.EvidenceMaxAgeDuration,
		EvidenceMaxBytes:           p.EvidenceMaxBytes,
		PubKeyTypes:                slices.Clone(p.PubKeyTypes),
		VoteExtensionsEnableHeight: p.VoteExtensionsEnableHeight,
		AppVersion:                 p.AppVersion,
	}
}

// legacyEvidenceMaxBytes is evidence.max_bytes for a record written before
// the store kept it: CometBFT's default.
const legacyEvidenceMaxBytes = 1 << 20

func paramsFromStore(pb *storepb.ConsensusParams) ConsensusParams {
	p := ConsensusParams{
		MaxBlockBytes:              pb.MaxBlockBytes,
		MaxGas:                     pb.MaxGas,
		EvidenceMaxAgeNumBlocks:    pb.EvidenceMaxAgeNumBlocks,
		EvidenceMaxAgeDuration:     pb.EvidenceMaxAgeDuration,
		EvidenceMaxBytes:           pb.EvidenceMaxBytes,
		PubKeyTypes:                slices.Clone(pb.PubKeyTypes),
		VoteExtensionsEnableHeight: pb.VoteExtensionsEnableHeight,
		AppVersion:                 pb.AppVersion,
	}
	if len(p.PubKeyTypes) == 0 { // written before the record held the other groups
		p.PubKeyTypes = []string{"ed25519"}
		p.EvidenceMaxBytes = legacyEvidenceMaxBytes
	}
	return p
}

// LoadConsensusParams returns the consensus parameters in force at height,
// recorded with the state that led to it; ErrNotFound for a height the
// store has no record of (pruned, not reached, or passed before the store
// recorded parameters by height).
func (s *Store) LoadConsensusParams(height int64) (ConsensusParams, error) {
	var p ConsensusParams
	err := s.get(heightKey(kindConsensusParams, height), fmt.Sprintf("consensus params at height %d", height), func(v []byte) error {
		var pb storepb.ConsensusParams
		if err := pb.Unmarshal(v); err != nil {
			return err
		}
		p = paramsFromStore(&pb)
		return nil
	})
	return p, err
}
