package light

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/bftnode/bftnode/types"
)

// The JSON shapes of CometBFT's RPC results that carry light blocks (its
// /commit, /validators, /block), which bftnode's RPC serves alike. They are
// read from providers and written in evidence files.

// hexBytes is upper-case hex in JSON, as CometBFT writes hashes.
type hexBytes []byte

func (h hexBytes) MarshalJSON() ([]byte, error) {
	return json.Marshal(strings.ToUpper(hex.EncodeToString(h)))
}

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("hex bytes: %w", err)
	}
	v, err := hex.DecodeString(s)
	if err != nil {
		return fmt.Errorf("hex bytes %q: %w", s, err)
	}
	*h = v
	return nil
}

// fixed copies h into dst, which it must fill exactly unless h is empty
// (an absent hash or address, left zero).
func (h hexBytes) fixed(dst []byte, what string) error {
	if len(h) != 0 && len(h) != len(dst) {
		return fmt.Errorf("%s: %d bytes, want %d", what, len(h), len(dst))
	}
	copy(dst, h)
	return nil
}

func hashJSON(h types.Hash) hexBytes {
	if h.IsZero() {
		return hexBytes{}
	}
	return hexBytes(h[:])
}

type partSetHeaderJSON struct {
	Total uint32   `json:"total"`
	Hash  hexBytes `json:"hash"`
}

type blockIDJSON struct {
	Hash  hexBytes          `json:"hash"`
	Parts partSetHeaderJSON `json:"parts"`
}

func (j blockIDJSON) toBlockID() (types.BlockID, error) {
	var id types.BlockID
	id.PartSetHeader.Total = j.Parts.Total
	if err := j.Hash.fixed(id.Hash[:], "block ID hash"); err != nil {
		return id, err
	}
	return id, j.Parts.Hash.fixed(id.PartSetHeader.Hash[:], "part set hash")
}

func blockIDToJSON(id types.BlockID) blockIDJSON {
	return blockIDJSON{Hash: hashJSON(id.Hash), Parts: partSetHeaderJSON{Total: id.PartSetHeader.Total, Hash: hashJSON(id.PartSetHeader.Hash)}}
}

type headerJSON struct {
	Version struct {
		Block uint64 `json:"block,string"`
		App   uint64 `json:"app,string"`
	} `json:"version"`
	ChainID            string      `json:"chain_id"`
	Height             int64       `json:"height,string"`
	Time               time.Time   `json:"time"`
	LastBlockID        blockIDJSON `json:"last_block_id"`
	LastCommitHash     hexBytes    `json:"last_commit_hash"`
	DataHash           hexBytes    `json:"data_hash"`
	ValidatorsHash     hexBytes    `json:"validators_hash"`
	NextValidatorsHash hexBytes    `json:"next_validators_hash"`
	ConsensusHash      hexBytes    `json:"consensus_hash"`
	AppHash            hexBytes    `json:"app_hash"`
	LastResultsHash    hexBytes    `json:"last_results_hash"`
	EvidenceHash       hexBytes    `json:"evidence_hash"`
	ProposerAddress    hexBytes    `json:"proposer_address"`
}

func (j *headerJSON) toHeader() (*types.Header, error) {
	h := &types.Header{
		Version: types.Version{Block: j.Version.Block, App: j.Version.App},
		ChainID: j.ChainID, Height: j.Height, Time: j.Time, AppHash: []byte(j.AppHash),
	}
	var err error
	if h.LastBlockID, err = j.LastBlockID.toBlockID(); err != nil {
		return nil, fmt.Errorf("header: last block ID: %w", err)
	}
	for _, f := range []struct {
		src  hexBytes
		dst  []byte
		name string
	}{
		{j.LastCommitHash, h.LastCommitHash[:], "last commit hash"},
		{j.DataHash, h.DataHash[:], "data hash"},
		{j.ValidatorsHash, h.ValidatorsHash[:], "validators hash"},
		{j.NextValidatorsHash, h.NextValidatorsHash[:], "next validators hash"},
		{j.ConsensusHash, h.ConsensusHash[:], "consensus hash"},
		{j.LastResultsHash, h.LastResultsHash[:], "last results hash"},
		{j.EvidenceHash, h.EvidenceHash[:], "evidence hash"},
		{j.ProposerAddress, h.ProposerAddress[:], "proposer address"},
	} {
		if err := f.src.fixed(f.dst, f.name); err != nil {
			return nil, fmt.Errorf("header: %w", err)
		}
	}
	return h, nil
}

func headerToJSON(h *types.Header) *headerJSON {
	j := &headerJSON{
		ChainID: h.ChainID, Height: h.Height, Time: h.Time,
		LastBlockID:        blockIDToJSON(h.LastBlockID),
		LastCommitHash:     hashJSON(h.LastCommitHash),
		DataHash:           hashJSON(h.DataHash),
		ValidatorsHash:     hashJSON(h.ValidatorsHash),
		NextValidatorsHash: hashJSON(h.NextValidatorsHash),
		ConsensusHash:      hashJSON(h.ConsensusHash),
		AppHash:            hexBytes(h.AppHash),
		LastResultsHash:    hashJSON(h.LastResultsHash),
		EvidenceHash:       hashJSON(h.EvidenceHash),
		ProposerAddress:    hexBytes(h.ProposerAddress[:]),
	}
	j.Version.Block, j.Version.App = h.Version.Block, h.Version.App
	return j
}

type commitSigJSON struct {
	BlockIDFlag      types.BlockIDFlag `json:"block_id_flag"`
	ValidatorAddress hexBytes          `json:"validator_address"`
	Timestamp        time.Time         `json:"timestamp"`
	Signature        []byte            `json:"signature"`
}

type commitJSON struct {
	Height     int64           `json:"height,string"`
	Round      int32           `json:"round"`
	BlockID    blockIDJSON     `json:"block_id"`
	Signatures []commitSigJSON `json:"signatures"`
}

func (j *commitJSON) toCommit() (*types.Commit, error) {
	c := &types.Commit{Height: j.Height, Round: j.Round, Signatures: make([]types.CommitSig, len(j.Signatures))}
	var err error
	if c.BlockID, err = j.BlockID.toBlockID(); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	for i, s := range j.Signatures {
		cs := types.CommitSig{Flag: s.BlockIDFlag, Timestamp: s.Timestamp, Signature: s.Signature}
		if err := s.ValidatorAddress.fixed(cs.ValidatorAddress[:], "validator address"); err != nil {
			return nil, fmt.Errorf("commit: signature %d: %w", i, err)
		}
		c.Signatures[i] = cs
	}
	return c, nil
}

func commitToJSON(c *types.Commit) *commitJSON {
	j := &commitJSON{Height: c.Height, Round: c.Round, BlockID: blockIDToJSON(c.BlockID), Signatures: make([]commitSigJSON, len(c.Signatures))}
	for i, s := range c.Signatures {
		sj := commitSigJSON{BlockIDFlag: s.Flag, ValidatorAddress: hexBytes{}, Timestamp: s.Timestamp, Signature: s.Signature}
		if s.Flag != types.BlockIDFlagAbsent {
			sj.ValidatorAddress = hexBytes(s.ValidatorAddress[:])
		}
		j.Signatures[i] = sj
	}
	return j
}

const ed25519KeyType = "tendermint/PubKeyEd25519"

type validatorJSON struct {
	Address hexBytes `json:"address"`
	PubKey  struct {
		Type  string `json:"type"`
		Value []byte `json:"value"`
	} `json:"pub_key"`
	VotingPower      int64 `json:"voting_power,string"`
	ProposerPriority int64 `json:"proposer_priority,string"`
}

func (j *validatorJSON) toValidator() (*types.Validator, error) {
	if j.PubKey.Type != ed25519KeyType || len(j.PubKey.Value) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("validator %X: public key of type %q and %d bytes, only %s keys are supported", []byte(j.Address), j.PubKey.Type, len(j.PubKey.Value), ed25519KeyType)
	}
	v := types.NewValidator(ed25519.PublicKey(j.PubKey.Value), j.VotingPower)
	if len(j.Address) != 0 && string(j.Address) != string(v.Address[:]) {
		return nil, fmt.Errorf("validator %X: the address is not that of its public key (%X)", []byte(j.Address), v.Address)
	}
	return v, nil
}

func validatorToJSON(v *types.Validator) validatorJSON {
	j := validatorJSON{Address: hexBytes(v.Address[:]), VotingPower: v.VotingPower, ProposerPriority: v.ProposerPriority}
	j.PubKey.Type, j.PubKey.Value = ed25519KeyType, v.PubKey
	return j
}

// validatorSetFromJSON builds the set from its members, in the order the
// chain keeps it (which types.NewValidatorSet restores).
func validatorSetFromJSON(vals []validatorJSON) (*types.ValidatorSet, error) {
	list := make([]*types.Validator, len(vals))
	for i := range vals {
		v, err := vals[i].toValidator()
		if err != nil {
			return nil, err
		}
		list[i] = v
	}
	return types.NewValidatorSet(list)
}

type signedHeaderJSON struct {
	Header *headerJSON `json:"header"`
	Commit *commitJSON `json:"commit"`
}

type validatorSetJSON struct {
	Validators []validatorJSON `json:"validators"`
}

// lightBlockJSON is a light block as CometBFT writes one in JSON.
type lightBlockJSON struct {
	SignedHeader signedHeaderJSON `json:"signed_header"`
	ValidatorSet validatorSetJSON `json:"validator_set"`
}

func lightBlockToJSON(lb *LightBlock) *lightBlockJSON {
	j := &lightBlockJSON{SignedHeader: signedHeaderJSON{Header: headerToJSON(lb.Header), Commit: commitToJSON(lb.Commit)}}
	for _, v := range lb.ValidatorSet.Validators {
		j.ValidatorSet.Validators = append(j.ValidatorSet.Validators, validatorToJSON(v))
	}
	return j
}

func (j *signedHeaderJSON) toSignedHeader() (*types.Header, *types.Commit, error) {
	if j.Header == nil || j.Commit == nil {
		return nil, nil, fmt.Errorf("signed header without a header or a commit")
	}
	h, err := j.Header.toHeader()
	if err != nil {
		return nil, nil, err
	}
	c, err := j.Commit.toCommit()
	return h, c, err
}
