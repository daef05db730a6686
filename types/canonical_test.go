package types

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"
)

// The vectors in testdata/cometbft_vectors.json are computed by CometBFT
// v0.40.0's own code in test/interop (TestChainVectors, which also checks
// that the file still matches CometBFT). These tests check that bftnode's
// canonical encoding gives the same bytes and hashes.

type hexBytes []byte

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	d, err := hex.DecodeString(s)
	*h = d
	return err
}

type blockIDVector struct {
	Hash       hexBytes `json:"hash"`
	PartsTotal uint32   `json:"parts_total"`
	PartsHash  hexBytes `json:"parts_hash"`
}

type voteVector struct {
	ChainID            string        `json:"chain_id"`
	Type               int32         `json:"type"`
	Height             int64         `json:"height"`
	Round              int32         `json:"round"`
	BlockID            blockIDVector `json:"block_id"`
	Timestamp          time.Time     `json:"timestamp"`
	Extension          hexBytes      `json:"extension"`
	SignBytes          hexBytes      `json:"sign_bytes"`
	ExtensionSignBytes hexBytes      `json:"extension_sign_bytes"`
}

type proposalVector struct {
	ChainID   string        `json:"chain_id"`
	Height    int64         `json:"height"`
	Round     int32         `json:"round"`
	POLRound  int32         `json:"pol_round"`
	BlockID   blockIDVector `json:"block_id"`
	Timestamp time.Time     `json:"timestamp"`
	SignBytes hexBytes      `json:"sign_bytes"`
}

type validatorVector struct {
	PubKey  hexBytes `json:"pub_key"`
	Power   int64    `json:"power"`
	Address hexBytes `json:"address"`
}

type valSetVector struct {
	Validators []validatorVector `json:"validators"`
	Hash       hexBytes          `json:"hash"`
}

type paramsVector struct {
	MaxBytes int64    `json:"max_bytes"`
	MaxGas   int64    `json:"max_gas"`
	Hash     hexBytes `json:"hash"`
}

type commitSigVector struct {
	Flag             int32     `json:"flag"`
	ValidatorAddress hexBytes  `json:"validator_address"`
	Timestamp        time.Time `json:"timestamp"`
	Signature        hexBytes  `json:"signature"`
}

type commitVector struct {
	Height     int64             `json:"height"`
	Round      int32             `json:"round"`
	BlockID    blockIDVector     `json:"block_id"`
	Signatures []commitSigVector `json:"signatures"`
	Hash       hexBytes          `json:"hash"`
}

type headerVector struct {
	VersionBlock       uint64        `json:"version_block"`
	VersionApp         uint64        `json:"version_app"`
	ChainID            string        `json:"chain_id"`
	Height             int64         `json:"height"`
	Time               time.Time     `json:"time"`
	LastBlockID        blockIDVector `json:"last_block_id"`
	LastCommitHash     hexBytes      `json:"last_commit_hash"`
	DataHash           hexBytes      `json:"data_hash"`
	ValidatorsHash     hexBytes      `json:"validators_hash"`
	NextValidatorsHash hexBytes      `json:"next_validators_hash"`
	ConsensusHash      hexBytes      `json:"consensus_hash"`
	AppHash            hexBytes      `json:"app_hash"`
	LastResultsHash    hexBytes      `json:"last_results_hash"`
	EvidenceHash       hexBytes      `json:"evidence_hash"`
	ProposerAddress    hexBytes      `json:"proposer_address"`
}

type blockVector struct {
	Header    headerVector `json:"header"`
	Txs       []hexBytes   `json:"txs"`
	FilledTxs *struct {
		Count int `json:"count"`
		Size  int `json:"size"`
	} `json:"filled_txs"`
	LastCommit *commitVector `json:"last_commit"`
	Hash       hexBytes      `json:"hash"`
	Parts      blockIDVector `json:"parts"`
}

type chainVectors struct {
	Votes         []voteVector     `json:"votes"`
	Proposals     []proposalVector `json:"proposals"`
	ValidatorSets []valSetVector   `json:"validator_sets"`
	Params        []paramsVector   `json:"params"`
	Blocks        []blockVector    `json:"blocks"`
}

func loadVectors(t *testing.T) *chainVectors {
	t.Helper()
	b, err := os.ReadFile("testdata/cometbft_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v chainVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Votes) == 0 || len(v.Proposals) == 0 || len(v.ValidatorSets) == 0 || len(v.Params) == 0 || len(v.Blocks) == 0 {
		t.Fatal("no vectors")
	}
	return &v
}

// toFixed copies a vector's hash or address into dst: empty leaves it zero.
func toFixed(t *testing.T, dst, src []byte) {
	t.Helper()
	if len(src) != 0 && len(src) != len(dst) {
		t.Fatalf("vector value of %d bytes, want %d", len(src), len(dst))
	}
	copy(dst, src)
}

func toHash(t *testing.T, b []byte) (h Hash) {
	t.Helper()
	toFixed(t, h[:], b)
	return h
}

func (v blockIDVector) blockID(t *testing.T) BlockID {
	return BlockID{Hash: toHash(t, v.Hash), PartSetHeader: PartSetHeader{Total: v.PartsTotal, Hash: toHash(t, v.PartsHash)}}
}

func TestVoteSignBytesMatchCometBFT(t *testing.T) {
	for i, vv := range loadVectors(t).Votes {
		v := &Vote{Type: SignedMsgType(vv.Type), Height: vv.Height, Round: vv.Round, BlockID: vv.BlockID.blockID(t), Timestamp: vv.Timestamp, Extension: vv.Extension}
		if got := VoteSignBytes(vv.ChainID, v); !bytes.Equal(got, vv.SignBytes) {
			t.Errorf("vote %d: sign bytes\n got %X\nwant %X", i, got, []byte(vv.SignBytes))
		}
		if got := VoteExtensionSignBytes(vv.ChainID, v); !bytes.Equal(got, vv.ExtensionSignBytes) {
			t.Errorf("vote %d: extension sign bytes\n got %X\nwant %X", i, got, []byte(vv.ExtensionSignBytes))
		}
	}
}

func TestProposalSignBytesMatchCometBFT(t *testing.T) {
	for i, pv := range loadVectors(t).Proposals {
		p := &Proposal{Height: pv.Height, Round: pv.Round, POLRound: pv.POLRound, BlockID: pv.BlockID.blockID(t), Timestamp: pv.Timestamp}
		if got := ProposalSignBytes(pv.ChainID, p); !bytes.Equal(got, pv.SignBytes) {
			t.Errorf("proposal %d: sign bytes\n got %X\nwant %X", i, got, []byte(pv.SignBytes))
		}
	}
}

// TestSignBytesTimestamp reads the timestamp out of CometBFT's sign bytes of
// votes and proposals, and refuses bytes that are not sign bytes.
func TestSignBytesTimestamp(t *testing.T) {
	v := loadVectors(t)
	check := func(what string, sb []byte, want time.Time) {
		t.Helper()
		got, ok := SignBytesTimestamp(sb)
		if !ok || !got.Equal(want) {
			t.Errorf("%s: timestamp %v (ok %v), want %v", what, got, ok, want)
		}
	}
	for i, vv := range v.Votes {
		check(fmt.Sprintf("vote %d", i), vv.SignBytes, vv.Timestamp)
	}
	for i, pv := range v.Proposals {
		check(fmt.Sprintf("proposal %d", i), pv.SignBytes, pv.Timestamp)
	}
	good := []byte(v.Votes[0].SignBytes)
	for _, bad := range [][]byte{nil, {0}, good[:len(good)-1], append(bytes.Clone(good), 0), v.Votes[0].ExtensionSignBytes} {
		if ts, ok := SignBytesTimestamp(bad); ok {
			t.Errorf("SignBytesTimestamp(%X) = %v, want not ok", bad, ts)
		}
	}
}

func toAddress(t *testing.T, b []byte) (a Address) {
	t.Helper()
	toFixed(t, a[:], b)
	return a
}

// TestValidatorSetHashMatchesCometBFT checks addresses, CometBFT's order
// and the set's hash.
func TestValidatorSetHashMatchesCometBFT(t *testing.T) {
	for i, sv := range loadVectors(t).ValidatorSets {
		var vals []*Validator
		for j := len(sv.Validators) - 1; j >= 0; j-- { // reversed: NewValidatorSet must sort
			vv := sv.Validators[j]
			v := NewValidator(ed25519.PublicKey(vv.PubKey), vv.Power)
			if v.Address != toAddress(t, vv.Address) {
				t.Errorf("set %d: address of %X is %X, want %X", i, []byte(vv.PubKey), v.Address, []byte(vv.Address))
			}
			vals = append(vals, v)
		}
		set, err := NewValidatorSet(vals)
		if err != nil {
			t.Fatal(err)
		}
		for j, v := range set.Validators {
			if v.Address != toAddress(t, sv.Validators[j].Address) {
				t.Errorf("set %d: validator %d is %X, CometBFT orders %X there", i, j, v.Address, []byte(sv.Validators[j].Address))
			}
		}
		if got := set.Hash(); got != toHash(t, sv.Hash) {
			t.Errorf("set %d: hash %X, want %X", i, got, []byte(sv.Hash))
		}
	}
}

func TestConsensusParamsHashMatchesCometBFT(t *testing.T) {
	for _, pv := range loadVectors(t).Params {
		if got := ConsensusParamsHash(pv.MaxBytes, pv.MaxGas); got != toHash(t, pv.Hash) {
			t.Errorf("params (%d, %d): hash %X, want %X", pv.MaxBytes, pv.MaxGas, got, []byte(pv.Hash))
		}
	}
}

func (cv *commitVector) commit(t *testing.T) *Commit {
	if cv == nil {
		return nil
	}
	c := &Commit{Height: cv.Height, Round: cv.Round, BlockID: cv.BlockID.blockID(t)}
	for _, s := range cv.Signatures {
		c.Signatures = append(c.Signatures, CommitSig{Flag: BlockIDFlag(s.Flag), ValidatorAddress: toAddress(t, s.ValidatorAddress), Timestamp: s.Timestamp, Signature: s.Signature})
	}
	return c
}

// TestBlockHashesMatchCometBFT checks, for blocks CometBFT built, the
// header's content hashes (data, evidence, last commit), the header hash,
// the last commit's hash and the part set header of the block's encoding,
// also after a round trip through the wire form.
func TestBlockHashesMatchCometBFT(t *testing.T) {
	for i, bv := range loadVectors(t).Blocks {
		hv := bv.Header
		b := &Block{
			Header: Header{
				Version: Version{Block: hv.VersionBlock, App: hv.VersionApp}, ChainID: hv.ChainID, Height: hv.Height, Time: hv.Time,
				LastBlockID: hv.LastBlockID.blockID(t), ValidatorsHash: toHash(t, hv.ValidatorsHash), NextValidatorsHash: toHash(t, hv.NextValidatorsHash),
				ConsensusHash: toHash(t, hv.ConsensusHash), AppHash: hv.AppHash, LastResultsHash: toHash(t, hv.LastResultsHash),
				ProposerAddress: toAddress(t, hv.ProposerAddress),
			},
			LastCommit: bv.LastCommit.commit(t),
		}
		for _, tx := range bv.Txs {
			b.Data.Txs = append(b.Data.Txs, tx)
		}
		if f := bv.FilledTxs; f != nil {
			for j := range f.Count {
				b.Data.Txs = append(b.Data.Txs, bytes.Repeat([]byte{byte(j)}, f.Size))
			}
		}
		b.FillHeader()
		for _, f := range []struct {
			what      string
			got, want Hash
		}{
			{"data hash", b.Header.DataHash, toHash(t, hv.DataHash)},
			{"evidence hash", b.Header.EvidenceHash, toHash(t, hv.EvidenceHash)},
			{"last commit hash", b.Header.LastCommitHash, toHash(t, hv.LastCommitHash)},
		} {
			if f.got != f.want {
				t.Errorf("block %d: %s %X, want %X", i, f.what, f.got, f.want)
			}
		}
		if bv.LastCommit != nil {
			if got := b.LastCommit.Hash(); got != toHash(t, bv.LastCommit.Hash) {
				t.Errorf("block %d: commit hash %X, want %X", i, got, []byte(bv.LastCommit.Hash))
			}
		}
		if err := b.ValidateBasic(); err != nil {
			t.Errorf("block %d: %v", i, err)
		}
		want := BlockID{Hash: toHash(t, bv.Hash), PartSetHeader: PartSetHeader{Total: bv.Parts.PartsTotal, Hash: toHash(t, bv.Parts.PartsHash)}}
		check := func(what string, b *Block) {
			t.Helper()
			id, err := MakeBlockID(b)
			if err != nil {
				t.Fatal(err)
			}
			if id != want {
				t.Errorf("block %d (%s): block ID %X/%d/%X, want %X/%d/%X", i, what,
					id.Hash, id.PartSetHeader.Total, id.PartSetHeader.Hash, want.Hash, want.PartSetHeader.Total, want.PartSetHeader.Hash)
			}
		}
		check("built", b)
		back, err := BlockFromProto(b.ToProto())
		if err != nil {
			t.Fatal(err)
		}
		check("after a round trip", back)
	}
}

// TestBlockValidateBasicRefusesForeignHeaders: a header of another block
// protocol or with an evidence hash that is not its evidence's is refused.
func TestBlockValidateBasicRefusesForeignHeaders(t *testing.T) {
	for name, edit := range map[string]func(*Header){
		"block protocol 10": func(h *Header) { h.Version.Block = 10 },
		"evidence hash":     func(h *Header) { h.EvidenceHash = MerkleRoot([][]byte{{1}}) },
		"last commit hash":  func(h *Header) { h.LastCommitHash = Hash{} },
	} {
		b := testBlock(t, 3, 2)
		edit(&b.Header)
		if err := b.ValidateBasic(); !errors.Is(err, ErrInvalidBlock) {
			t.Errorf("%s: ValidateBasic = %v, want ErrInvalidBlock", name, err)
		}
	}
}

// TestVerifyCommitRefusesFilledAbsentSlot: an absent slot must be empty,
// as CometBFT's Commit.ValidateBasic requires.
func TestVerifyCommitRefusesFilledAbsentSlot(t *testing.T) {
	vs := testValidatorSet(t, 4)
	keys := map[Address]ed25519.PrivateKey{}
	for i := range 4 {
		seed := sha256.Sum256([]byte{byte(i)}) // as testValidatorSet
		priv := ed25519.NewKeyFromSeed(seed[:])
		keys[AddressOf(priv.Public().(ed25519.PublicKey))] = priv
	}
	id := BlockID{Hash: testHash("block"), PartSetHeader: PartSetHeader{Total: 1, Hash: testHash("parts")}}
	c := &Commit{Height: 5, BlockID: id}
	for i, v := range vs.Validators {
		c.Signatures = append(c.Signatures, CommitSig{Flag: BlockIDFlagCommit, ValidatorAddress: v.Address, Timestamp: testTime(int64(i))})
		c.Signatures[i].Signature = ed25519.Sign(keys[v.Address], VoteSignBytes("test-chain", c.VoteAt(i)))
	}
	last := len(c.Signatures) - 1 // the least power: the rest is over 2/3
	c.Signatures[last] = CommitSig{Flag: BlockIDFlagAbsent}
	if err := vs.VerifyCommit("test-chain", id, 5, c); err != nil {
		t.Fatalf("a commit with an empty absent slot does not verify: %v", err)
	}
	c.Signatures[last].ValidatorAddress = vs.Validators[last].Address
	if err := vs.VerifyCommit("test-chain", id, 5, c); !errors.Is(err, ErrInvalidCommit) {
		t.Fatalf("VerifyCommit with an absent slot naming its validator = %v, want ErrInvalidCommit", err)
	}
}
