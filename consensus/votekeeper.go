package consensus

import (
	"github.com/bftnode/bftnode/types"
)

// maxValuesPerVoter bounds how many different block IDs (nil included) one
// validator's votes count for in one round and type. The paper counts
// messages per value, so an equivocating validator's two votes each count
// for their own value: a correct node that saw a polka including one of them
// relays it, and its peers must be able to count it even when they saw the
// other vote first. The bound keeps a Byzantine validator from making the
// keeper hold unboundedly many values; its later votes are evidence only.
const maxValuesPerVoter = 4

// voteSet holds one height/round/type's votes: up to maxValuesPerVoter
// different votes per validator, with the power behind each block ID (the
// nil ID included).
type voteSet struct {
	byIndex map[int32][]*types.Vote // each validator's votes, first one first
	power   map[types.BlockID]int64
	total   int64 // power of the distinct validators with a vote in the set
}

func newVoteSet() *voteSet {
	return &voteSet{byIndex: map[int32][]*types.Vote{}, power: map[types.BlockID]int64{}}
}

// voteFor returns validator idx's vote for id, if it cast one.
func (s *voteSet) voteFor(idx int32, id types.BlockID) *types.Vote {
	for _, v := range s.byIndex[idx] {
		if v.BlockID == id {
			return v
		}
	}
	return nil
}

// roundVotes holds a round's prevotes and precommits.
type roundVotes struct {
	prevotes, precommits *voteSet
	// voters is the power of distinct validators with any vote in the round,
	// counted for round skipping (L55).
	voters     map[int32]bool
	voterPower int64
}

// voteKeeper counts votes by voting power for one height and answers the
// threshold questions of Algorithm 1. It is the only place thresholds are
// computed.
type voteKeeper struct {
	vals   *types.ValidatorSet
	rounds map[int32]*roundVotes
}

func newVoteKeeper(vals *types.ValidatorSet) *voteKeeper {
	return &voteKeeper{vals: vals, rounds: map[int32]*roundVotes{}}
}

// addResult says what adding a vote did.
type addResult uint8

const (
	voteAdded addResult = iota
	voteDuplicate
	voteConflicting
)

// add records v, whose validator index has been checked against the set. A
// second, different vote of one validator for the same round and type is
// returned as equivocation evidence; it still counts for its own value (up
// to maxValuesPerVoter values), never twice towards the set's total.
func (k *voteKeeper) add(v *types.Vote, power int64) (addResult, *types.DuplicateVoteEvidence) {
	rv := k.round(v.Round)
	set := rv.prevotes
	if v.Type == types.PrecommitType {
		set = rv.precommits
	}
	if set.voteFor(v.ValidatorIndex, v.BlockID) != nil {
		return voteDuplicate, nil
	}
	prev := set.byIndex[v.ValidatorIndex]
	if len(prev) >= maxValuesPerVoter {
		return voteConflicting, &types.DuplicateVoteEvidence{VoteA: prev[0], VoteB: v}
	}
	set.byIndex[v.ValidatorIndex] = append(prev, v)
	set.power[v.BlockID] += power
	if len(prev) > 0 {
		return voteConflicting, &types.DuplicateVoteEvidence{VoteA: prev[0], VoteB: v}
	}
	set.total += power
	if !rv.voters[v.ValidatorIndex] {
		rv.voters[v.ValidatorIndex] = true
		rv.voterPower += power
	}
	return voteAdded, nil
}

func (k *voteKeeper) round(r int32) *roundVotes {
	rv, ok := k.rounds[r]
	if !ok {
		rv = &roundVotes{prevotes: newVoteSet(), precommits: newVoteSet(), voters: map[int32]bool{}}
		k.rounds[r] = rv
	}
	return rv
}

func (k *voteKeeper) set(r int32, t types.SignedMsgType) *voteSet {
	rv, ok := k.rounds[r]
	if !ok {
		return nil
	}
	if t == types.PrecommitType {
		return rv.precommits
	}
	return rv.prevotes
}

// overTwoThirds reports power > 2/3 of the total ("2f+1").
func (k *voteKeeper) overTwoThirds(power int64) bool {
	return power*3 > k.vals.TotalVotingPower()*2
}

// overOneThird reports power > 1/3 of the total ("f+1").
func (k *voteKeeper) overOneThird(power int64) bool {
	return power*3 > k.vals.TotalVotingPower()
}

// quorumFor reports 2f+1 votes of type t in round r for id (nil included).
func (k *voteKeeper) quorumFor(r int32, t types.SignedMsgType, id types.BlockID) bool {
	s := k.set(r, t)
	return s != nil && k.overTwoThirds(s.power[id])
}

// quorumAny reports 2f+1 votes of type t in round r, for anything.
func (k *voteKeeper) quorumAny(r int32, t types.SignedMsgType) bool {
	s := k.set(r, t)
	return s != nil && k.overTwoThirds(s.total)
}

// quorumValue returns the block (not nil) with 2f+1 votes of type t in
// round r, if there is one. At most one can exist among honest counts.
func (k *voteKeeper) quorumValue(r int32, t types.SignedMsgType) (types.BlockID, bool) {
	s := k.set(r, t)
	if s == nil {
		return types.BlockID{}, false
	}
	for id, p := range s.power {
		if !id.IsNil() && k.overTwoThirds(p) {
			return id, true
		}
	}
	return types.BlockID{}, false
}

// highestSkipRound returns the highest round above r with f+1 distinct
// voters (L55), if any. Taking the highest skips straight to where the
// network is.
func (k *voteKeeper) highestSkipRound(r int32) (int32, bool) {
	best, found := r, false
	for rr, rv := range k.rounds {
		if rr > best && k.overOneThird(rv.voterPower) {
			best, found = rr, true
		}
	}
	return best, found
}

// commit builds the commit for id from the precommits of round r: one slot
// per validator, in validator-set order; an absent one is empty, as in
// CometBFT. The extended commit beside it holds each precommit-for-id's
// vote extension, as the precommit carried it.
func (k *voteKeeper) commit(height int64, r int32, id types.BlockID) *types.ExtendedCommit {
	n := k.vals.Size()
	c := &types.Commit{Height: height, Round: r, BlockID: id, Signatures: make([]types.CommitSig, n)}
	ec := &types.ExtendedCommit{Commit: c, Extensions: make([]types.ExtensionSig, n)}
	set := k.set(r, types.PrecommitType)
	for i, val := range k.vals.Validators {
		sig := types.CommitSig{Flag: types.BlockIDFlagAbsent}
		if v := set.voteFor(int32(i), id); v != nil {
			sig = types.CommitSig{Flag: types.BlockIDFlagCommit, ValidatorAddress: val.Address, Timestamp: v.Timestamp, Signature: v.Signature}
			ec.Extensions[i] = types.ExtensionSig{Extension: v.Extension, Signature: v.ExtensionSignature}
		} else if v := set.voteFor(int32(i), types.BlockID{}); v != nil {
			sig = types.CommitSig{Flag: types.BlockIDFlagNil, ValidatorAddress: val.Address, Timestamp: v.Timestamp, Signature: v.Signature}
		}
		c.Signatures[i] = sig
	}
	return ec
}
