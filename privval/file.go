package privval

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/bftnode/bftnode/crypto/keyfile"
	"github.com/bftnode/bftnode/internal/diskfs"
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

	*guard
}

var _ Signer = (*FilePV)(nil)

// NewFilePV builds a FilePV from a key held in memory and the state file at
// statePath (missing means fresh). Tests use it; so can a node whose key does
// not come from a key file.
func NewFilePV(priv ed25519.PrivateKey, statePath string) (*FilePV, error) {
	return NewFilePVOn(diskfs.OS, priv, statePath)
}

// NewFilePVOn is NewFilePV with the state file on fsys: the simulator keeps
// it on an in-memory file system that it crashes (diskfs.Mem).
func NewFilePVOn(fsys diskfs.FS, priv ed25519.PrivateKey, statePath string) (*FilePV, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: private key of %d bytes", ErrInvalidKey, len(priv))
	}
	g, err := openGuard(fsys, statePath)
	if err != nil {
		return nil, err
	}
	pub := priv.Public().(ed25519.PublicKey)
	return &FilePV{priv: priv, pub: pub, addr: types.AddressOf(pub), guard: g}, nil
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
func (pv *FilePV) LastSigned() HRS { return pv.lastSigned() }

// SignVote signs a prevote or precommit (see Signer).
func (pv *FilePV) SignVote(chainID string, v *types.Vote) error {
	return pv.SignVoteAlongside(chainID, v, nil)
}

// SignVoteAlongside is SignVote running alongside while the last-sign state
// is saved (see Signer).
func (pv *FilePV) SignVoteAlongside(chainID string, v *types.Vote, alongside func() error) error {
	return pv.guard.signVote(chainID, v, alongside, func(c *types.Vote, sb []byte) ([]byte, time.Time, error) {
		return ed25519.Sign(pv.priv, sb), c.Timestamp, nil
	}, func(_ *types.Vote, extSB []byte) ([]byte, error) {
		return ed25519.Sign(pv.priv, extSB), nil
	})
}

// SignProposal signs a proposal (see Signer).
func (pv *FilePV) SignProposal(chainID string, p *types.Proposal) error {
	return pv.SignProposalAlongside(chainID, p, nil)
}

// SignProposalAlongside is SignProposal running alongside while the
// last-sign state is saved (see Signer).
func (pv *FilePV) SignProposalAlongside(chainID string, p *types.Proposal, alongside func() error) error {
	return pv.guard.signProposal(chainID, p, alongside, func(c *types.Proposal, sb []byte) ([]byte, time.Time, error) {
		return ed25519.Sign(pv.priv, sb), c.Timestamp, nil
	})
}
