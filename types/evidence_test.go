package types

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"testing"
	"time"
)

// The vectors in testdata/cometbft_evidence_vectors.json are computed by
// CometBFT v0.40.0's own code in test/interop (TestEvidenceVectors, which
// also checks that the file still matches CometBFT).

type signedVoteVector struct {
	Type             int32         `json:"type"`
	Height           int64         `json:"height"`
	Round            int32         `json:"round"`
	BlockID          blockIDVector `json:"block_id"`
	Timestamp        time.Time     `json:"timestamp"`
	ValidatorAddress hexBytes      `json:"validator_address"`
	ValidatorIndex   int32         `json:"validator_index"`
	Signature        hexBytes      `json:"signature"`
}

type misbehaviorVector struct {
	Type             int32     `json:"type"`
	Address          hexBytes  `json:"address"`
	Power            int64     `json:"power"`
	Height           int64     `json:"height"`
	Time             time.Time `json:"time"`
	TotalVotingPower int64     `json:"total_voting_power"`
}

type evidenceOutputs struct {
	Bytes       hexBytes            `json:"bytes"`
	Hash        hexBytes            `json:"hash"`
	Evidence    hexBytes            `json:"evidence"`
	Misbehavior []misbehaviorVector `json:"misbehavior"`
}

type evidenceVectors struct {
	ChainID    string       `json:"chain_id"`
	Validators valSetVector `json:"validators"`
	Duplicates []struct {
		Vote1     signedVoteVector `json:"vote_1"`
		Vote2     signedVoteVector `json:"vote_2"`
		BlockTime time.Time        `json:"block_time"`
		evidenceOutputs
	} `json:"duplicate_votes"`
	Attacks    []evidenceOutputs `json:"light_client_attacks"`
	ListHash   hexBytes          `json:"list_hash"`
	Judgements []struct {
		Name     string   `json:"name"`
		Common   hexBytes `json:"common_signed_header"`
		Trusted  hexBytes `json:"trusted_signed_header"`
		Evidence hexBytes `json:"evidence"`
	} `json:"light_client_attack_judgements"`
}

func loadEvidenceVectors(t *testing.T) (*evidenceVectors, *ValidatorSet) {
	t.Helper()
	b, err := os.ReadFile("testdata/cometbft_evidence_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v evidenceVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Duplicates) == 0 || len(v.Attacks) == 0 {
		t.Fatal("no vectors")
	}
	var vals []*Validator
	for _, val := range v.Validators.Validators {
		vals = append(vals, NewValidator(ed25519.PublicKey(val.PubKey), val.Power))
	}
	set, err := NewValidatorSet(vals)
	if err != nil {
		t.Fatal(err)
	}
	if set.Hash() != toHash(t, v.Validators.Hash) {
		t.Fatal("validator set hash differs from CometBFT's")
	}
	return &v, set
}

func (v signedVoteVector) vote(t *testing.T) *Vote {
	vote := &Vote{Type: SignedMsgType(v.Type), Height: v.Height, Round: v.Round, BlockID: v.BlockID.blockID(t),
		Timestamp: v.Timestamp, ValidatorIndex: v.ValidatorIndex, Signature: v.Signature}
	toFixed(t, vote.ValidatorAddress[:], v.ValidatorAddress)
	return vote
}

// checkOutputs compares ev's encodings, hash and ABCI form with CometBFT's.
func checkOutputs(t *testing.T, name string, ev Evidence, want evidenceOutputs) {
	t.Helper()
	if got := ev.Bytes(); !bytes.Equal(got, want.Bytes) {
		t.Errorf("%s: bytes\n got %X\nwant %X", name, got, []byte(want.Bytes))
	}
	if got := ev.Hash(); got != toHash(t, want.Hash) {
		t.Errorf("%s: hash %X, want %X", name, got, []byte(want.Hash))
	}
	if got := EncodeEvidence(ev); !bytes.Equal(got, want.Evidence) {
		t.Errorf("%s: evidence encoding\n got %X\nwant %X", name, got, []byte(want.Evidence))
	}
	var wantABCI []Misbehavior
	for _, m := range want.Misbehavior {
		mb := Misbehavior{Type: MisbehaviorType(m.Type), ValidatorPower: m.Power, Height: m.Height, Time: m.Time, TotalVotingPower: m.TotalVotingPower}
		toFixed(t, mb.ValidatorAddress[:], m.Address)
		wantABCI = append(wantABCI, mb)
	}
	if got := ev.ABCI(); !reflect.DeepEqual(got, wantABCI) {
		t.Errorf("%s: ABCI\n got %+v\nwant %+v", name, got, wantABCI)
	}
}

func TestDuplicateVoteEvidenceMatchesCometBFT(t *testing.T) {
	v, vals := loadEvidenceVectors(t)
	for i, d := range v.Duplicates {
		ev, err := NewDuplicateVoteEvidence(d.Vote1.vote(t), d.Vote2.vote(t), d.BlockTime, vals)
		if err != nil {
			t.Fatal(err)
		}
		checkOutputs(t, "duplicate "+string(rune('0'+i)), ev, d.evidenceOutputs)
		if err := ev.Verify(v.ChainID, vals); err != nil {
			t.Errorf("duplicate %d: CometBFT verifies it, bftnode: %v", i, err)
		}
		back, err := DecodeEvidence(d.Evidence)
		if err != nil {
			t.Fatalf("duplicate %d: decode CometBFT's encoding: %v", i, err)
		}
		if !reflect.DeepEqual(back, ev) {
			t.Errorf("duplicate %d: decoded\n %+v\nwant %+v", i, back, ev)
		}
	}
}

func TestLightClientAttackEvidenceMatchesCometBFT(t *testing.T) {
	v, _ := loadEvidenceVectors(t)
	for i, a := range v.Attacks {
		ev, err := DecodeEvidence(a.Evidence)
		if err != nil {
			t.Fatalf("attack %d: decode CometBFT's encoding: %v", i, err)
		}
		if _, ok := ev.(*LightClientAttackEvidence); !ok {
			t.Fatalf("attack %d decodes as %T", i, ev)
		}
		checkOutputs(t, "attack "+string(rune('0'+i)), ev, a)
	}
}

func TestEvidenceListHashMatchesCometBFT(t *testing.T) {
	v, _ := loadEvidenceVectors(t)
	var list EvidenceList
	for _, d := range v.Duplicates {
		list = append(list, mustDecode(t, d.Evidence))
	}
	for _, a := range v.Attacks {
		list = append(list, mustDecode(t, a.Evidence))
	}
	if got := list.Hash(); got != toHash(t, v.ListHash) {
		t.Errorf("list hash %X, want %X", got, []byte(v.ListHash))
	}
	if got := len(list.ABCI()); got != len(v.Duplicates)+2*len(v.Attacks) {
		t.Errorf("%d misbehaviours, want one per duplicate and two per attack", got)
	}
}

func mustDecode(t *testing.T, b []byte) Evidence {
	t.Helper()
	ev, err := DecodeEvidence(b)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// sampleDuplicate is the first vector's evidence, fresh for each call.
func sampleDuplicate(t *testing.T) (*DuplicateVoteEvidence, *ValidatorSet, string) {
	v, vals := loadEvidenceVectors(t)
	return mustDecode(t, v.Duplicates[0].Evidence).(*DuplicateVoteEvidence), vals, v.ChainID
}

func TestDuplicateVoteEvidenceRefusals(t *testing.T) {
	cases := []struct {
		name   string
		change func(e *DuplicateVoteEvidence, vals **ValidatorSet)
		want   error
	}{
		{"bad signature A", func(e *DuplicateVoteEvidence, _ **ValidatorSet) {
			e.VoteA.Signature = append([]byte{e.VoteA.Signature[0] ^ 1}, e.VoteA.Signature[1:]...)
		}, ErrBadSignature},
		{"bad signature B", func(e *DuplicateVoteEvidence, _ **ValidatorSet) { e.VoteB.Timestamp = e.VoteB.Timestamp.Add(1) }, ErrBadSignature},
		{"unknown validator", func(e *DuplicateVoteEvidence, vals **ValidatorSet) {
			_, val := (*vals).ByAddress(e.VoteA.ValidatorAddress)
			var others []*Validator
			for _, v := range (*vals).Validators {
				if v != val {
					others = append(others, v)
				}
			}
			*vals, _ = NewValidatorSet(others)
		}, ErrUnknownValidator},
		{"same block ID twice", func(e *DuplicateVoteEvidence, _ **ValidatorSet) { e.VoteB.BlockID = e.VoteA.BlockID }, ErrInvalidEvidence},
		{"out of order", func(e *DuplicateVoteEvidence, _ **ValidatorSet) { e.VoteA, e.VoteB = e.VoteB, e.VoteA }, ErrInvalidEvidence},
		{"other round", func(e *DuplicateVoteEvidence, _ **ValidatorSet) { e.VoteB.Round++ }, ErrInvalidEvidence},
		{"other type", func(e *DuplicateVoteEvidence, _ **ValidatorSet) {
			e.VoteB.Type = PrecommitType + PrevoteType - e.VoteB.Type
		}, ErrInvalidEvidence},
		{"wrong validator power", func(e *DuplicateVoteEvidence, _ **ValidatorSet) { e.ValidatorPower++ }, ErrInvalidEvidence},
		{"wrong total power", func(e *DuplicateVoteEvidence, _ **ValidatorSet) { e.TotalVotingPower-- }, ErrInvalidEvidence},
		{"missing vote", func(e *DuplicateVoteEvidence, _ **ValidatorSet) { e.VoteB = nil }, ErrInvalidEvidence},
	}
	for _, c := range cases {
		ev, vals, chainID := sampleDuplicate(t)
		if err := ev.Verify(chainID, vals); err != nil {
			t.Fatalf("%s: the unchanged evidence is refused: %v", c.name, err)
		}
		c.change(ev, &vals)
		if err := ev.Verify(chainID, vals); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

func TestDecodeEvidenceRefusesMalformed(t *testing.T) {
	v, _ := loadEvidenceVectors(t)
	good := v.Duplicates[0].Evidence
	for name, b := range map[string][]byte{
		"empty":          nil,
		"truncated":      good[:len(good)-3],
		"unknown kind":   append([]byte{3<<3 | 2, 0}, good[2:]...),
		"two messages":   append(append([]byte(nil), good...), good...),
		"unknown field":  appendMessage(nil, 1, append(append([]byte(nil), v.Duplicates[0].Bytes...), 9<<3, 1)),
		"votes swapped":  appendMessage(nil, 1, swapVotes(t, v.Duplicates[0].Bytes)),
		"attack garbage": appendMessage(nil, 2, []byte{1<<3 | 2, 1, 0xff}),
	} {
		if _, err := DecodeEvidence(b); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

// swapVotes exchanges the two votes of an encoded duplicate vote evidence.
func swapVotes(t *testing.T, b []byte) []byte {
	e, err := decodeDuplicateVoteEvidence(b)
	if err != nil {
		t.Fatal(err)
	}
	e.VoteA, e.VoteB = e.VoteB, e.VoteA
	return e.Bytes()
}

func TestLightClientAttackEvidenceValidateBasic(t *testing.T) {
	v, _ := loadEvidenceVectors(t)
	for name, change := range map[string]func(e *LightClientAttackEvidence){
		"common height above":  func(e *LightClientAttackEvidence) { e.CommonHeight = e.ConflictingBlock.Header.Height + 1 },
		"zero common height":   func(e *LightClientAttackEvidence) { e.CommonHeight = 0 },
		"zero total power":     func(e *LightClientAttackEvidence) { e.TotalVotingPower = 0 },
		"commit for another":   func(e *LightClientAttackEvidence) { e.ConflictingBlock.Commit.BlockID.Hash[0] ^= 1 },
		"other validator set":  func(e *LightClientAttackEvidence) { e.ConflictingBlock.Header.ValidatorsHash[0] ^= 1 },
		"no conflicting block": func(e *LightClientAttackEvidence) { e.ConflictingBlock = nil },
	} {
		ev := mustDecode(t, v.Attacks[0].Evidence).(*LightClientAttackEvidence)
		change(ev)
		if err := ev.ValidateBasic(); !errors.Is(err, ErrInvalidEvidence) {
			t.Errorf("%s: got %v", name, err)
		}
	}
}

// TestBlockCarriesEvidence: a block holding CometBFT's vectors has
// CometBFT's evidence hash in its header, keeps its evidence through the
// wire form, and is refused when its evidence is not its header's.
func TestBlockCarriesEvidence(t *testing.T) {
	v, _ := loadEvidenceVectors(t)
	b := testBlock(t, 5, 2)
	for _, d := range v.Duplicates {
		b.Evidence = append(b.Evidence, mustDecode(t, d.Evidence))
	}
	for _, a := range v.Attacks {
		b.Evidence = append(b.Evidence, mustDecode(t, a.Evidence))
	}
	b.FillHeader()
	if b.Header.EvidenceHash != toHash(t, v.ListHash) {
		t.Fatalf("header evidence hash %X, want CometBFT's %X", b.Header.EvidenceHash, []byte(v.ListHash))
	}
	if err := b.ValidateBasic(); err != nil {
		t.Fatal(err)
	}
	back, err := BlockFromProto(marshalRoundTrip(t, b.ToProto()))
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Evidence) != len(b.Evidence) {
		t.Fatalf("%d pieces of evidence after the round trip, want %d", len(back.Evidence), len(b.Evidence))
	}
	for i := range b.Evidence {
		if !bytes.Equal(back.Evidence[i].Bytes(), b.Evidence[i].Bytes()) {
			t.Errorf("evidence %d changed in the round trip", i)
		}
	}
	if back.Hash() != b.Hash() {
		t.Error("the block hash changed in the round trip")
	}
	back.Evidence = back.Evidence[1:]
	if err := back.ValidateBasic(); !errors.Is(err, ErrInvalidBlock) {
		t.Errorf("ValidateBasic with evidence dropped = %v, want ErrInvalidBlock", err)
	}
}
