package types

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"reflect"
	"testing"
	"time"

	typespb "github.com/bftnode/bftnode/proto/bftnode/types"
)

func testValidatorSet(t testing.TB, n int) *ValidatorSet {
	t.Helper()
	vals := make([]*Validator, n)
	for i := range vals {
		seed := sha256.Sum256([]byte{byte(i)})
		pub := ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey)
		vals[i] = NewValidator(pub, int64(10*(i%3+1)))
	}
	vs, err := NewValidatorSet(vals)
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

func testHash(s string) Hash { return sha256.Sum256([]byte(s)) }

func testSig(b byte) []byte { return bytes.Repeat([]byte{b}, ed25519.SignatureSize) }

func testTime(sec int64) time.Time { return time.Unix(1_700_000_000+sec, 123456789).UTC() }

func testCommit(height int64, vs *ValidatorSet) *Commit {
	c := &Commit{
		Height:  height,
		Round:   1,
		BlockID: BlockID{Hash: testHash("block"), PartSetHeader: PartSetHeader{Total: 2, Hash: testHash("parts")}},
	}
	for i, v := range vs.Validators {
		s := CommitSig{Flag: BlockIDFlagCommit, ValidatorAddress: v.Address, Timestamp: testTime(int64(i)), Signature: testSig(byte(i))}
		switch i % 3 {
		case 1:
			s.Flag = BlockIDFlagNil
		case 2:
			s = CommitSig{Flag: BlockIDFlagAbsent}
		}
		c.Signatures = append(c.Signatures, s)
	}
	return c
}

func testBlock(t testing.TB, height int64, numTxs int) *Block {
	t.Helper()
	vs := testValidatorSet(t, 4)
	b := &Block{Header: Header{
		Version:            Version{Block: BlockProtocol, App: 1},
		ChainID:            "test-chain",
		Height:             height,
		Time:               testTime(height),
		LastBlockID:        BlockID{Hash: testHash("last"), PartSetHeader: PartSetHeader{Total: 1, Hash: testHash("lastparts")}},
		ValidatorsHash:     vs.Hash(),
		NextValidatorsHash: vs.Hash(),
		AppHash:            []byte("app-hash"),
		LastResultsHash:    testHash("results"),
		ProposerAddress:    vs.Proposer().Address,
	}}
	for i := range numTxs {
		b.Data.Txs = append(b.Data.Txs, []byte{byte(height), byte(i), byte(i >> 8), 'x'})
	}
	if height > 1 {
		b.LastCommit = testCommit(height-1, vs)
	}
	b.FillHeader()
	if err := b.ValidateBasic(); err != nil {
		t.Fatal(err)
	}
	return b
}

// marshalRoundTrip marshals pb and unmarshals the bytes into a new message.
func marshalRoundTrip[M any, PM interface {
	*M
	Marshal() ([]byte, error)
	Unmarshal([]byte) error
}](t *testing.T, pb PM) PM {
	t.Helper()
	bz, err := pb.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	out := PM(new(M))
	if err := out.Unmarshal(bz); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBlockRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name   string
		height int64
		txs    int
	}{
		{"first height, no txs, no last commit", 1, 0},
		{"with txs and last commit", 7, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := testBlock(t, tc.height, tc.txs)
			got, err := BlockFromProto(marshalRoundTrip(t, b.ToProto()))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, b) {
				t.Fatalf("round trip changed the block:\n got %+v\nwant %+v", got, b)
			}
			if got.Hash() != b.Hash() {
				t.Fatal("header hash changed in the round trip")
			}
			if err := got.ValidateBasic(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestHeaderHashSurvivesRoundTrip(t *testing.T) {
	h := testBlock(t, 3, 1).Header
	h.Time = time.Date(2024, 5, 6, 7, 8, 9, 10, time.FixedZone("X", 3600)) // not UTC
	h.LastBlockID = BlockID{}                                              // nil IDs encode as empty
	got, err := HeaderFromProto(marshalRoundTrip(t, h.ToProto()))
	if err != nil {
		t.Fatal(err)
	}
	if got.Hash() != h.Hash() {
		t.Fatal("header hash changed in the round trip")
	}
	if !got.Time.Equal(h.Time) || !got.LastBlockID.IsNil() {
		t.Fatalf("time %v or last block ID %v changed", got.Time, got.LastBlockID)
	}
}

func TestVoteProposalCommitRoundTrip(t *testing.T) {
	vs := testValidatorSet(t, 5)
	c := testCommit(9, vs)
	gotC, err := CommitFromProto(marshalRoundTrip(t, c.ToProto()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotC, c) || gotC.Hash() != c.Hash() {
		t.Fatalf("commit changed:\n got %+v\nwant %+v", gotC, c)
	}

	for _, v := range []*Vote{
		c.VoteAt(0),
		{Type: PrevoteType, Height: 3, Round: 2, Timestamp: testTime(1), ValidatorAddress: vs.Validators[1].Address, ValidatorIndex: 1, Signature: testSig(9)},
	} {
		got, err := VoteFromProto(marshalRoundTrip(t, v.ToProto()))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, v) {
			t.Fatalf("vote changed:\n got %+v\nwant %+v", got, v)
		}
	}

	p := &Proposal{Height: 4, Round: 3, POLRound: -1, BlockID: c.BlockID, Timestamp: testTime(5), Signature: testSig(7)}
	gotP, err := ProposalFromProto(marshalRoundTrip(t, p.ToProto()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotP, p) {
		t.Fatalf("proposal changed:\n got %+v\nwant %+v", gotP, p)
	}
}

func TestValidatorSetRoundTripKeepsProposerSelection(t *testing.T) {
	vs := testValidatorSet(t, 7)
	vs.IncrementProposerPriority(5)
	got, err := ValidatorSetFromProto(marshalRoundTrip(t, vs.ToProto()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, vs) {
		t.Fatalf("set changed:\n got %+v\nwant %+v", got, vs)
	}
	for r := range int32(20) {
		if a, b := got.ProposerForRound(r), vs.ProposerForRound(r); a.Address != b.Address {
			t.Fatalf("round %d: proposer %X, want %X", r, a.Address[:4], b.Address[:4])
		}
	}
}

func TestFromProtoRejectsMalformed(t *testing.T) {
	vs := testValidatorSet(t, 3)
	for _, tc := range []struct {
		name    string
		convert func() error
	}{
		{"short data hash", func() error {
			pb := testBlock(t, 2, 1).ToProto()
			pb.Header.DataHash = pb.Header.DataHash[:31]
			_, err := BlockFromProto(pb)
			return err
		}},
		{"long proposer address", func() error {
			pb := testBlock(t, 2, 1).ToProto()
			pb.Header.ProposerAddress = append(pb.Header.ProposerAddress, 0)
			_, err := BlockFromProto(pb)
			return err
		}},
		{"short commit signature", func() error {
			pb := testBlock(t, 2, 1).ToProto()
			pb.LastCommit.Signatures[0].Signature = pb.LastCommit.Signatures[0].Signature[:63]
			_, err := BlockFromProto(pb)
			return err
		}},
		{"block with undecodable evidence", func() error {
			pb := testBlock(t, 2, 1).ToProto()
			pb.Evidence.Evidence = [][]byte{{1}}
			_, err := BlockFromProto(pb)
			return err
		}},
		{"vote extension signature of 3 bytes", func() error {
			_, err := VoteFromProto(&typespb.Vote{Type: typespb.PrecommitType, ExtensionSignature: []byte{1, 2, 3}})
			return err
		}},
		{"unknown commit flag", func() error {
			pb := testCommit(2, vs).ToProto()
			pb.Signatures[1].BlockIDFlag = 9
			_, err := CommitFromProto(pb)
			return err
		}},
		{"short part set hash", func() error {
			pb := (&Vote{Type: PrevoteType, BlockID: BlockID{PartSetHeader: PartSetHeader{Hash: testHash("x")}}}).ToProto()
			pb.BlockID.PartSetHeader.Hash = pb.BlockID.PartSetHeader.Hash[:5]
			_, err := VoteFromProto(pb)
			return err
		}},
		{"proposal vote type", func() error {
			_, err := VoteFromProto(&typespb.Vote{Type: typespb.ProposalType})
			return err
		}},
		{"proposal signature of 65 bytes", func() error {
			_, err := ProposalFromProto(&typespb.Proposal{Signature: make([]byte, 65)})
			return err
		}},
		{"short public key", func() error {
			pb := vs.ToProto()
			pb.Validators[0].PubKey = pb.Validators[0].PubKey[:31]
			_, err := ValidatorSetFromProto(pb)
			return err
		}},
		{"address not matching key", func() error {
			pb := vs.ToProto()
			pb.Validators[0].Address = pb.Validators[1].Address
			_, err := ValidatorSetFromProto(pb)
			return err
		}},
		{"validators out of order", func() error {
			pb := vs.ToProto()
			pb.Validators[0], pb.Validators[1] = pb.Validators[1], pb.Validators[0]
			_, err := ValidatorSetFromProto(pb)
			return err
		}},
		{"empty set", func() error {
			_, err := ValidatorSetFromProto(&typespb.ValidatorSet{})
			return err
		}},
		{"proposer not in set", func() error {
			pb := vs.ToProto()
			pb.ProposerAddress = bytes.Repeat([]byte{1}, 20)
			_, err := ValidatorSetFromProto(pb)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.convert(); !errors.Is(err, ErrInvalidProto) {
				t.Fatalf("got error %v, want ErrInvalidProto", err)
			}
		})
	}
}

func TestBlockParts(t *testing.T) {
	b := testBlock(t, 5, 300)
	bz, err := b.ToProto().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{0, 1000, len(bz), len(bz) - 1} {
		parts, psh, err := BlockParts(b, size)
		if err != nil {
			t.Fatal(err)
		}
		wantSize := size
		if size <= 0 {
			wantSize = BlockPartSizeBytes
		}
		if want := (len(bz) + wantSize - 1) / wantSize; len(parts) != want || int(psh.Total) != want {
			t.Fatalf("part size %d: %d parts (header says %d), want %d", size, len(parts), psh.Total, want)
		}
		if !bytes.Equal(bytes.Join(parts, nil), bz) {
			t.Fatalf("part size %d: parts do not join to the block", size)
		}
		if psh.Hash != MerkleRoot(parts) {
			t.Fatalf("part size %d: part set hash is not the Merkle root", size)
		}
	}
	id, err := MakeBlockID(b)
	if err != nil {
		t.Fatal(err)
	}
	if id.Hash != b.Hash() || id.PartSetHeader.Total != 1 {
		t.Fatalf("MakeBlockID = %+v", id)
	}
}

func TestBlockPartsRejectsUnencodableTime(t *testing.T) {
	b := testBlock(t, 1, 0)
	b.Header.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := MakeBlockID(b); err == nil {
		t.Fatal("a block dated after year 9999 was encoded")
	}
}

func FuzzBlockFromProto(f *testing.F) {
	for _, b := range []*Block{testBlock(f, 1, 0), testBlock(f, 2, 3)} {
		bz, err := b.ToProto().Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(bz)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var pb typespb.Block
		if pb.Unmarshal(data) != nil {
			return
		}
		b, err := BlockFromProto(&pb)
		if err != nil {
			if !errors.Is(err, ErrInvalidProto) {
				t.Fatalf("error %v is not ErrInvalidProto", err)
			}
			return
		}
		// Whatever decodes must encode again and decode to the same header.
		bz, err := b.ToProto().Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var pb2 typespb.Block
		if err := pb2.Unmarshal(bz); err != nil {
			t.Fatal(err)
		}
		b2, err := BlockFromProto(&pb2)
		if err != nil {
			t.Fatal(err)
		}
		if b2.Hash() != b.Hash() {
			t.Fatal("header hash changed in a second round trip")
		}
	})
}
