package types

import (
	"encoding/binary"
	"fmt"
	"time"

	typespb "github.com/bftnode/bftnode/proto/bftnode/types"
)

// The encoding of evidence: CometBFT v0.40.0's tendermint.types.Evidence
// and the messages it holds, byte for byte. Votes, headers and commits
// have CometBFT's field numbers in proto/bftnode/types, so they are
// marshalled from there; the validators of a light block are written in
// CometBFT's form (tendermint.types.Validator, whose public key is a
// tendermint.crypto.PublicKey), which bftnode's storage form is not.

// EncodeEvidence is ev as a tendermint.types.Evidence (the form blocks,
// gossip and storage carry).
func EncodeEvidence(ev Evidence) []byte {
	switch e := ev.(type) {
	case *DuplicateVoteEvidence:
		return appendMessage(nil, 1, e.Bytes())
	case *LightClientAttackEvidence:
		return appendMessage(nil, 2, e.Bytes())
	}
	panic(fmt.Sprintf("types: unknown evidence type %T", ev))
}

// DecodeEvidence decodes a tendermint.types.Evidence and checks the
// evidence's ValidateBasic.
func DecodeEvidence(b []byte) (Evidence, error) {
	var ev Evidence
	err := walkFields(b, "evidence", func(field, wire uint64, v []byte) (err error) {
		if ev != nil || wire != wireBytes {
			return fmt.Errorf("%w: evidence holds more than one message", ErrInvalidProto)
		}
		switch field {
		case 1:
			ev, err = decodeDuplicateVoteEvidence(v)
		case 2:
			ev, err = decodeLightClientAttackEvidence(v)
		default:
			err = fmt.Errorf("%w: unknown evidence kind %d", ErrInvalidProto, field)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if ev == nil {
		return nil, fmt.Errorf("%w: empty evidence", ErrInvalidProto)
	}
	if err := ev.ValidateBasic(); err != nil {
		return nil, err
	}
	return ev, nil
}

func marshal(m interface{ Marshal() ([]byte, error) }) []byte {
	b, err := m.Marshal()
	if err != nil { // gogoproto fails only on its own bugs
		panic(fmt.Sprintf("types: marshal %T: %v", m, err))
	}
	return b
}

func appendDuplicateVoteEvidence(b []byte, e *DuplicateVoteEvidence) []byte {
	if e.VoteA != nil {
		b = appendMessage(b, 1, marshal(e.VoteA.ToProto()))
	}
	if e.VoteB != nil {
		b = appendMessage(b, 2, marshal(e.VoteB.ToProto()))
	}
	b = appendVarint(b, 3, uint64(e.TotalVotingPower))
	b = appendVarint(b, 4, uint64(e.ValidatorPower))
	return appendTimestampField(b, 5, e.Timestamp)
}

func appendLightClientAttackEvidence(b []byte, e *LightClientAttackEvidence) []byte {
	if lb := e.ConflictingBlock; lb != nil {
		var body []byte
		if lb.Header != nil || lb.Commit != nil {
			var sh []byte
			if lb.Header != nil {
				sh = appendMessage(sh, 1, marshal(lb.Header.ToProto()))
			}
			if lb.Commit != nil {
				sh = appendMessage(sh, 2, marshal(lb.Commit.ToProto()))
			}
			body = appendMessage(body, 1, sh)
		}
		if lb.ValidatorSet != nil {
			body = appendMessage(body, 2, appendCometValidatorSet(nil, lb.ValidatorSet))
		}
		b = appendMessage(b, 1, body)
	}
	b = appendVarint(b, 2, uint64(e.CommonHeight))
	for _, v := range e.ByzantineValidators {
		b = appendMessage(b, 3, appendCometValidator(nil, v))
	}
	b = appendVarint(b, 4, uint64(e.TotalVotingPower))
	return appendTimestampField(b, 5, e.Timestamp)
}

// appendCometValidator writes a tendermint.types.Validator.
func appendCometValidator(b []byte, v *Validator) []byte {
	b = appendBytes(b, 1, addressBytes(&v.Address))
	b = appendMessage(b, 2, appendBytes(nil, 1, v.PubKey))
	b = appendVarint(b, 3, uint64(v.VotingPower))
	return appendVarint(b, 4, uint64(v.ProposerPriority))
}

// appendCometValidatorSet writes a tendermint.types.ValidatorSet as
// CometBFT does: the validators, the proposer, and no total power.
func appendCometValidatorSet(b []byte, vs *ValidatorSet) []byte {
	for _, v := range vs.Validators {
		b = appendMessage(b, 1, appendCometValidator(nil, v))
	}
	if vs.proposer != nil {
		b = appendMessage(b, 2, appendCometValidator(nil, vs.proposer))
	}
	return b
}

// walkFields calls f with each field of the message b, refusing a
// malformed one.
func walkFields(b []byte, what string, f func(field, wire uint64, value []byte) error) error {
	for len(b) > 0 {
		field, wire, value, rest, ok := nextField(b)
		if !ok {
			return fmt.Errorf("%w: malformed %s", ErrInvalidProto, what)
		}
		if err := f(field, wire, value); err != nil {
			return err
		}
		b = rest
	}
	return nil
}

// fieldError is the error for a field a message may not hold.
func fieldError(what string, field, wire uint64) error {
	return fmt.Errorf("%w: %s has an unexpected field %d (wire type %d)", ErrInvalidProto, what, field, wire)
}

func varintValue(v []byte) uint64 {
	n, _ := binary.Uvarint(v)
	return n
}

func decodeTime(v []byte, what string) (time.Time, error) {
	t, ok := timestampFromProto(v)
	if !ok {
		return time.Time{}, fmt.Errorf("%w: %s timestamp", ErrInvalidProto, what)
	}
	return t, nil
}

func decodeVote(v []byte) (*Vote, error) {
	var pb typespb.Vote
	if err := pb.Unmarshal(v); err != nil {
		return nil, fmt.Errorf("%w: vote: %w", ErrInvalidProto, err)
	}
	return VoteFromProto(&pb)
}

func decodeDuplicateVoteEvidence(b []byte) (*DuplicateVoteEvidence, error) {
	e := &DuplicateVoteEvidence{}
	const what = "duplicate vote evidence"
	err := walkFields(b, what, func(field, wire uint64, v []byte) (err error) {
		switch {
		case field == 1 && wire == wireBytes:
			e.VoteA, err = decodeVote(v)
		case field == 2 && wire == wireBytes:
			e.VoteB, err = decodeVote(v)
		case field == 3 && wire == wireVarint:
			e.TotalVotingPower = int64(varintValue(v))
		case field == 4 && wire == wireVarint:
			e.ValidatorPower = int64(varintValue(v))
		case field == 5 && wire == wireBytes:
			e.Timestamp, err = decodeTime(v, what)
		default:
			err = fieldError(what, field, wire)
		}
		return err
	})
	return e, err
}

func decodeLightClientAttackEvidence(b []byte) (*LightClientAttackEvidence, error) {
	e := &LightClientAttackEvidence{}
	const what = "light client attack evidence"
	err := walkFields(b, what, func(field, wire uint64, v []byte) (err error) {
		switch {
		case field == 1 && wire == wireBytes:
			e.ConflictingBlock, err = decodeLightBlock(v)
		case field == 2 && wire == wireVarint:
			e.CommonHeight = int64(varintValue(v))
		case field == 3 && wire == wireBytes:
			var val *Validator
			if val, err = decodeCometValidator(v); err == nil {
				e.ByzantineValidators = append(e.ByzantineValidators, val)
			}
		case field == 4 && wire == wireVarint:
			e.TotalVotingPower = int64(varintValue(v))
		case field == 5 && wire == wireBytes:
			e.Timestamp, err = decodeTime(v, what)
		default:
			err = fieldError(what, field, wire)
		}
		return err
	})
	return e, err
}

func decodeLightBlock(b []byte) (*LightBlock, error) {
	lb := &LightBlock{}
	err := walkFields(b, "light block", func(field, wire uint64, v []byte) (err error) {
		switch {
		case field == 1 && wire == wireBytes:
			return walkFields(v, "signed header", func(field, wire uint64, v []byte) error {
				return decodeSignedHeaderField(&lb.SignedHeader, field, wire, v)
			})
		case field == 2 && wire == wireBytes:
			lb.ValidatorSet, err = decodeCometValidatorSet(v)
			return err
		}
		return fieldError("light block", field, wire)
	})
	return lb, err
}

func decodeSignedHeaderField(sh *SignedHeader, field, wire uint64, v []byte) (err error) {
	switch {
	case field == 1 && wire == wireBytes:
		var pb typespb.Header
		if err := pb.Unmarshal(v); err != nil {
			return fmt.Errorf("%w: header: %w", ErrInvalidProto, err)
		}
		sh.Header, err = HeaderFromProto(&pb)
	case field == 2 && wire == wireBytes:
		var pb typespb.Commit
		if err := pb.Unmarshal(v); err != nil {
			return fmt.Errorf("%w: commit: %w", ErrInvalidProto, err)
		}
		sh.Commit, err = CommitFromProto(&pb)
	default:
		err = fieldError("signed header", field, wire)
	}
	return err
}

// decodeCometValidator decodes a tendermint.types.Validator with an
// Ed25519 key.
func decodeCometValidator(b []byte) (*Validator, error) {
	var pb typespb.Validator
	const what = "validator"
	err := walkFields(b, what, func(field, wire uint64, v []byte) error {
		switch {
		case field == 1 && wire == wireBytes:
			pb.Address = v
		case field == 2 && wire == wireBytes:
			return walkFields(v, "public key", func(field, wire uint64, v []byte) error {
				if field != 1 || wire != wireBytes {
					return fmt.Errorf("%w: validator key is not Ed25519 (field %d)", ErrInvalidProto, field)
				}
				pb.PubKey = v
				return nil
			})
		case field == 3 && wire == wireVarint:
			pb.VotingPower = int64(varintValue(v))
		case field == 4 && wire == wireVarint:
			pb.ProposerPriority = int64(varintValue(v))
		default:
			return fieldError(what, field, wire)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ValidatorFromProto(&pb)
}

// decodeCometValidatorSet decodes a tendermint.types.ValidatorSet: its
// validators in canonical order and its proposer among them.
func decodeCometValidatorSet(b []byte) (*ValidatorSet, error) {
	var pb typespb.ValidatorSet
	const what = "validator set"
	err := walkFields(b, what, func(field, wire uint64, v []byte) error {
		switch {
		case field == 1 && wire == wireBytes:
			val, err := decodeCometValidator(v)
			if err != nil {
				return err
			}
			pb.Validators = append(pb.Validators, val.ToProto())
		case field == 2 && wire == wireBytes:
			val, err := decodeCometValidator(v)
			if err != nil {
				return err
			}
			pb.ProposerAddress = val.Address[:]
		case field == 3 && wire == wireVarint: // the total power, recomputed
		default:
			return fieldError(what, field, wire)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ValidatorSetFromProto(&pb)
}
