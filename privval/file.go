package privval

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/bftnode/bftnode/crypto/keyfile"
	"github.com/bftnode/bftnode/types"
)

// keyFile is the key file, in CometBFT's JSON shape.
type keyFile struct {
	Address hexBytes         `json:"address"`
	PubKey  keyfile.TypedKey `json:"pub_key"`
	PrivKey keyfile.TypedKey `json:"priv_key"`
}

// FilePV is a Signer whose key and last-sign state live in files. It is safe
// for concurrent use.
type FilePV struct {
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
	addr types.Address

	mu    sync.Mutex
	file  *stateFile
	state lastSignState
}

var _ Signer = (*FilePV)(nil)

// NewFilePV builds a FilePV from a key held in memory and the state file at
// statePath (missing means fresh). Tests use it; so can a node whose key does
// not come from a key file.
func NewFilePV(priv ed25519.PrivateKey, statePath string) (*FilePV, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: private key of %d bytes", ErrInvalidKey, len(priv))
	}
	file, state, err := openState(statePath)
	if err != nil {
		return nil, err
	}
	pub := priv.Public().(ed25519.PublicKey)
	return &FilePV{priv: priv, pub: pub, addr: types.AddressOf(pub), file: file, state: state}, nil
}

// GenFilePV generates a key, writes the key file and a fresh state file, and
// returns the signer. It refuses to overwrite either file: a new key with an
// old state, or an old key with a fresh state, could double-sign.
func GenFilePV(keyPath, statePath string) (*FilePV, error) {
	for _, p := range []string{keyPath, statePath} {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("privval: not generating a key: %s exists (or cannot be checked: %v)", p, err)
		}
	}
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil, fmt.Errorf("privval: generating key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(statePath), 0o700); err != nil {
		return nil, fmt.Errorf("privval: %w", err)
	}
	pub := priv.Public().(ed25519.PublicKey)
	if err := keyfile.Write(keyPath, keyFile{
		Address: addressBytes(pub),
		PubKey:  keyfile.PubKey(pub),
		PrivKey: keyfile.PrivKey(priv),
	}); err != nil {
		return nil, err
	}
	if err := writeState(statePath, lastSignState{}); err != nil {
		return nil, err
	}
	return NewFilePV(priv, statePath)
}

// LoadFilePV loads the key file and the state file. A missing state file is
// the fresh state; an unreadable one is ErrCorruptState.
func LoadFilePV(keyPath, statePath string) (*FilePV, error) {
	priv, err := readKey(keyPath)
	if err != nil {
		return nil, err
	}
	return NewFilePV(priv, statePath)
}

// LoadOrGenFilePV loads the signer if the key file exists and generates one
// otherwise.
func LoadOrGenFilePV(keyPath, statePath string) (*FilePV, error) {
	if _, err := os.Stat(keyPath); errors.Is(err, fs.ErrNotExist) {
		return GenFilePV(keyPath, statePath)
	}
	return LoadFilePV(keyPath, statePath)
}

func readKey(path string) (ed25519.PrivateKey, error) {
	var kf keyFile
	priv, err := keyfile.ReadPrivKey(path, &kf, &kf.PrivKey)
	switch {
	case errors.Is(err, keyfile.ErrMalformed):
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidKey, path, err)
	case err != nil:
		return nil, err
	case kf.PubKey.Type != keyfile.PubKeyTypeEd25519:
		return nil, fmt.Errorf("%w: %s: pub_key.type is %q, want %q", ErrInvalidKey, path, kf.PubKey.Type, keyfile.PubKeyTypeEd25519)
	case !bytes.Equal(kf.PubKey.Value, priv.Public().(ed25519.PublicKey)):
		return nil, fmt.Errorf("%w: %s: public key does not match the private key", ErrInvalidKey, path)
	case !bytes.Equal(kf.Address, addressBytes(kf.PubKey.Value)):
		return nil, fmt.Errorf("%w: %s: address does not match the public key", ErrInvalidKey, path)
	}
	return priv, nil
}

func addressBytes(pub ed25519.PublicKey) []byte {
	a := types.AddressOf(pub)
	return a[:]
}

// PubKey is the validator's public key.
func (pv *FilePV) PubKey() ed25519.PublicKey { return pv.pub }

// Address is the validator's address.
func (pv *FilePV) Address() types.Address { return pv.addr }

// LastSigned is the height, round and step of the last signed message.
func (pv *FilePV) LastSigned() HRS {
	pv.mu.Lock()
	defer pv.mu.Unlock()
	return pv.state.hrs()
}

// SignVote signs a prevote or precommit (see Signer).
func (pv *FilePV) SignVote(chainID string, v *types.Vote) error {
	return pv.SignVoteAlongside(chainID, v, nil)
}

// SignVoteAlongside is SignVote running alongside while the last-sign state
// is saved (see Signer).
func (pv *FilePV) SignVoteAlongside(chainID string, v *types.Vote, alongside func() error) error {
	step, err := voteStep(v.Type)
	if err != nil {
		return err
	}
	asked := *v
	signBytes := func(ts time.Time) []byte {
		c := asked
		c.Timestamp = ts
		return types.VoteSignBytes(chainID, &c)
	}
	fill := func(sig []byte, ts time.Time) { v.Signature, v.Timestamp = sig, ts }
	if err := pv.sign(HRS{v.Height, v.Round, step}, v.Timestamp, signBytes, fill, alongside); err != nil {
		v.Signature, v.Timestamp = nil, asked.Timestamp
		return fmt.Errorf("%w (%s)", err, v.Type)
	}
	return nil
}

// SignProposal signs a proposal (see Signer).
func (pv *FilePV) SignProposal(chainID string, p *types.Proposal) error {
	return pv.SignProposalAlongside(chainID, p, nil)
}

// SignProposalAlongside is SignProposal running alongside while the
// last-sign state is saved (see Signer).
func (pv *FilePV) SignProposalAlongside(chainID string, p *types.Proposal, alongside func() error) error {
	asked := *p
	signBytes := func(ts time.Time) []byte {
		c := asked
		c.Timestamp = ts
		return types.ProposalSignBytes(chainID, &c)
	}
	fill := func(sig []byte, ts time.Time) { p.Signature, p.Timestamp = sig, ts }
	if err := pv.sign(HRS{p.Height, p.Round, StepPropose}, p.Timestamp, signBytes, fill, alongside); err != nil {
		p.Signature, p.Timestamp = nil, asked.Timestamp
		return fmt.Errorf("%w (proposal)", err)
	}
	return nil
}

// sign applies the double-sign guard to the message at hrs whose sign bytes
// at a timestamp are signBytes(timestamp); if it may be signed, it fills
// in the signature and the timestamp signed with, then runs alongside (if
// not nil) and saves the new state, together, and returns once both are
// done. A fresh signature may be released only once sign has returned nil:
// then the new state is durable.
func (pv *FilePV) sign(hrs HRS, ts time.Time, signBytes func(time.Time) []byte, fill func([]byte, time.Time), alongside func() error) error {
	if hrs.Height <= 0 || hrs.Round < 0 {
		return fmt.Errorf("privval: cannot sign at %s", hrs)
	}
	if alongside == nil {
		alongside = func() error { return nil }
	}
	pv.mu.Lock()
	defer pv.mu.Unlock()
	last := pv.state
	sb := signBytes(ts)
	switch c := hrs.Compare(last.hrs()); {
	case c < 0:
		return fmt.Errorf("%w: %w: %s is below the last signed %s", ErrDoubleSign, ErrSignedPast, hrs, last.hrs())
	case c == 0 && bytes.Equal(sb, last.SignBytes):
		fill(bytes.Clone(last.Signature), ts)
		return alongside()
	case c == 0:
		if saved, ok := timestampOnlyChange(last.SignBytes, signBytes); ok {
			fill(bytes.Clone(last.Signature), saved)
			return alongside()
		}
		return fmt.Errorf("%w: already signed different data at %s", ErrDoubleSign, hrs)
	}
	next := lastSignState{
		Height: hrs.Height, Round: hrs.Round, Step: hrs.Step,
		Signature: ed25519.Sign(pv.priv, sb),
		SignBytes: sb,
	}
	fill(bytes.Clone(next.Signature), ts)
	done := make(chan error, 1)
	go func() { done <- alongside() }()
	err := pv.file.save(next)
	if err == nil {
		pv.state = next
	} else {
		err = fmt.Errorf("privval: not signing at %s: saving the last-sign state failed: %w", hrs, err)
	}
	return errors.Join(err, <-done)
}
