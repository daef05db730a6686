package config

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/bftnode/bftnode/types"
)

// ErrInvalidGenesis wraps every problem found in a genesis document.
var ErrInvalidGenesis = errors.New("invalid genesis")

// PubKeyTypeEd25519 is the type tag of an Ed25519 public key in JSON, as
// CometBFT writes it.
const PubKeyTypeEd25519 = "tendermint/PubKeyEd25519"

// MaxChainIDLen is the longest chain ID, as in CometBFT.
const MaxChainIDLen = 50

// HexBytes is a byte slice written as upper-case hex in JSON.
type HexBytes []byte

// MarshalText implements encoding.TextMarshaler.
func (b HexBytes) MarshalText() ([]byte, error) {
	return []byte(strings.ToUpper(hex.EncodeToString(b))), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (b *HexBytes) UnmarshalText(text []byte) error {
	v, err := hex.DecodeString(string(text))
	if err != nil {
		return fmt.Errorf("not hex: %v", err)
	}
	*b = v
	return nil
}

// PubKey is a typed public key in CometBFT's JSON shape.
type PubKey struct {
	Type  string `json:"type"`
	Value []byte `json:"value"`
}

// GenesisValidator is one validator of the initial set.
type GenesisValidator struct {
	Address HexBytes `json:"address"`
	PubKey  PubKey   `json:"pub_key"`
	Power   int64    `json:"power,string"`
	Name    string   `json:"name"`
}

// BlockParams limit a block's size and gas.
type BlockParams struct {
	MaxBytes int64 `json:"max_bytes,string"`
	MaxGas   int64 `json:"max_gas,string"`
}

// EvidenceParams bound how old evidence may be and its total size per block.
type EvidenceParams struct {
	MaxAgeNumBlocks int64         `json:"max_age_num_blocks,string"`
	MaxAgeDuration  time.Duration `json:"max_age_duration,string"`
	MaxBytes        int64         `json:"max_bytes,string"`
}

// ValidatorParams restrict the validators' key types.
type ValidatorParams struct {
	PubKeyTypes []string `json:"pub_key_types"`
}

// VersionParams carry the application's protocol version.
type VersionParams struct {
	App uint64 `json:"app,string"`
}

// ABCIParams configure optional ABCI features: vote extensions are in force
// from vote_extensions_enable_height on (0: never).
type ABCIParams struct {
	VoteExtensionsEnableHeight int64 `json:"vote_extensions_enable_height,string"`
}

// AuthorityParams carry an opaque string that the application may use to
// authorise parameter changes; bftnode only bounds its length, as CometBFT
// does.
type AuthorityParams struct {
	Authority string `json:"authority"`
}

// MaxAuthorityLen is the longest consensus_params.authority.authority, as in
// CometBFT.
const MaxAuthorityLen = 256

// ConsensusParams are the chain's consensus parameters, in CometBFT's JSON shape.
type ConsensusParams struct {
	Block     BlockParams     `json:"block"`
	Evidence  EvidenceParams  `json:"evidence"`
	Validator ValidatorParams `json:"validator"`
	Version   VersionParams   `json:"version"`
	ABCI      ABCIParams      `json:"abci"`
	Authority AuthorityParams `json:"authority"`
}

// DefaultBlockMaxBytes is the default block.max_bytes of a new genesis:
// 4 MiB, CometBFT v1's default (v0.38 had 21 MiB). Measured under a flood
// of txs, 21 MiB blocks took about 10 s to propose, gossip and execute and
// stalled heights for seconds; 4 MiB still holds about 16,000 txs of 250
// bytes a block.
const DefaultBlockMaxBytes = 4 << 20

// DefaultConsensusParams are CometBFT's defaults, with DefaultBlockMaxBytes.
func DefaultConsensusParams() ConsensusParams {
	return ConsensusParams{
		Block:     BlockParams{MaxBytes: DefaultBlockMaxBytes, MaxGas: -1},
		Evidence:  EvidenceParams{MaxAgeNumBlocks: 100000, MaxAgeDuration: 48 * time.Hour, MaxBytes: 1048576},
		Validator: ValidatorParams{PubKeyTypes: []string{"ed25519"}},
	}
}

// GenesisDoc is genesis.json: the chain's starting point, in CometBFT's shape.
type GenesisDoc struct {
	GenesisTime     time.Time          `json:"genesis_time"`
	ChainID         string             `json:"chain_id"`
	InitialHeight   int64              `json:"initial_height,string"`
	ConsensusParams *ConsensusParams   `json:"consensus_params,omitempty"`
	Validators      []GenesisValidator `json:"validators"`
	AppHash         HexBytes           `json:"app_hash"`
	AppState        json.RawMessage    `json:"app_state,omitempty"`
}

// NewGenesisValidator describes a validator of the initial set.
func NewGenesisValidator(pub ed25519.PublicKey, power int64, name string) GenesisValidator {
	addr := types.AddressOf(pub)
	return GenesisValidator{Address: addr[:], PubKey: PubKey{Type: PubKeyTypeEd25519, Value: pub}, Power: power, Name: name}
}

// LoadGenesis reads, completes and validates a genesis file.
func LoadGenesis(path string) (*GenesisDoc, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: reading genesis: %w", err)
	}
	g, err := ParseGenesis(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return g, nil
}

// ParseGenesis decodes, completes and validates a genesis document.
func ParseGenesis(data []byte) (*GenesisDoc, error) {
	var g GenesisDoc
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&g); err != nil {
		hint := ""
		if strings.Contains(err.Error(), ",string") {
			hint = ` (integers such as initial_height, power and the consensus_params are written as JSON strings: "initial_height": "1")`
		}
		return nil, fmt.Errorf("%w: not a genesis document: %v%s", ErrInvalidGenesis, err, hint)
	}
	if err := g.ValidateAndComplete(); err != nil {
		return nil, err
	}
	return &g, nil
}

// ValidateAndComplete fills in the defaults (initial height 1, genesis time
// now, CometBFT's consensus parameters, validator addresses) and checks the
// document, naming the field and what to fix.
func (g *GenesisDoc) ValidateAndComplete() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidGenesis, fmt.Sprintf(format, args...))
	}
	switch {
	case g.ChainID == "":
		return bad("chain_id is empty; set it, e.g. \"chain_id\": \"my-chain\"")
	case len(g.ChainID) > MaxChainIDLen:
		return bad("chain_id %q is %d characters; the limit is %d", g.ChainID, len(g.ChainID), MaxChainIDLen)
	case g.InitialHeight < 0:
		return bad("initial_height %d is negative; use \"1\" for a new chain", g.InitialHeight)
	}
	if g.InitialHeight == 0 {
		g.InitialHeight = 1
	}
	if g.GenesisTime.IsZero() {
		g.GenesisTime = time.Now().UTC()
	}
	if g.ConsensusParams == nil {
		p := DefaultConsensusParams()
		g.ConsensusParams = &p
	}
	if err := g.ConsensusParams.validate(); err != nil {
		return bad("consensus_params.%v", err)
	}
	if len(g.Validators) == 0 {
		return bad("validators is empty; add at least one (`bftnode init` and `bftnode testnet` write them)")
	}
	for i := range g.Validators {
		v := &g.Validators[i]
		switch {
		case v.PubKey.Type != PubKeyTypeEd25519:
			return bad("validators[%d].pub_key.type is %q; only %q is supported", i, v.PubKey.Type, PubKeyTypeEd25519)
		case len(v.PubKey.Value) != ed25519.PublicKeySize:
			return bad("validators[%d].pub_key.value has %d bytes; an Ed25519 key has %d (base64)", i, len(v.PubKey.Value), ed25519.PublicKeySize)
		case v.Power <= 0:
			return bad("validators[%d].power is %d; it must be positive", i, v.Power)
		}
		addr := types.AddressOf(v.PubKey.Value)
		if len(v.Address) == 0 {
			v.Address = addr[:]
		} else if !bytes.Equal(v.Address, addr[:]) {
			return bad("validators[%d].address %X does not match its pub_key (want %X); fix it or leave it empty", i, []byte(v.Address), addr[:])
		}
	}
	if _, err := g.ValidatorSet(); err != nil {
		return bad("validators: %v", err)
	}
	return nil
}

func (p *ConsensusParams) validate() error {
	switch {
	case p.Block.MaxBytes == 0 || p.Block.MaxBytes < -1:
		return fmt.Errorf("block.max_bytes is %d; it must be positive, or -1 for no limit", p.Block.MaxBytes)
	case p.Block.MaxGas < -1:
		return fmt.Errorf("block.max_gas is %d; it must be non-negative, or -1 for no limit", p.Block.MaxGas)
	case p.Evidence.MaxAgeNumBlocks <= 0:
		return fmt.Errorf("evidence.max_age_num_blocks is %d; it must be positive", p.Evidence.MaxAgeNumBlocks)
	case p.Evidence.MaxAgeDuration <= 0:
		return fmt.Errorf("evidence.max_age_duration is %d; it must be positive (nanoseconds)", p.Evidence.MaxAgeDuration)
	case p.Evidence.MaxBytes < 0:
		return fmt.Errorf("evidence.max_bytes is %d; it must not be negative", p.Evidence.MaxBytes)
	case len(p.Validator.PubKeyTypes) != 1 || p.Validator.PubKeyTypes[0] != "ed25519":
		return fmt.Errorf("validator.pub_key_types is %q; only [\"ed25519\"] is supported", p.Validator.PubKeyTypes)
	case p.ABCI.VoteExtensionsEnableHeight < 0:
		return fmt.Errorf("abci.vote_extensions_enable_height is %d; it must not be negative (0: vote extensions never in force)", p.ABCI.VoteExtensionsEnableHeight)
	case len(p.Authority.Authority) > MaxAuthorityLen:
		return fmt.Errorf("authority.authority is %d bytes; the limit is %d", len(p.Authority.Authority), MaxAuthorityLen)
	}
	return nil
}

// ValidatorSet builds the initial validator set.
func (g *GenesisDoc) ValidatorSet() (*types.ValidatorSet, error) {
	vals := make([]*types.Validator, len(g.Validators))
	for i, v := range g.Validators {
		vals[i] = types.NewValidator(ed25519.PublicKey(v.PubKey.Value), v.Power)
	}
	return types.NewValidatorSet(vals)
}

// Save validates g and writes it, indented, to path.
func (g *GenesisDoc) Save(path string) error {
	if err := g.ValidateAndComplete(); err != nil {
		return err
	}
	data, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		return fmt.Errorf("config: encoding genesis: %w", err)
	}
	return writeFileAtomic(path, append(data, '\n'), 0o644)
}
