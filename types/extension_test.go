package types

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"testing"
)

func TestVoteExtensionShape(t *testing.T) {
	block := BlockID{Hash: testHash("b"), PartSetHeader: PartSetHeader{Total: 1, Hash: testHash("p")}}
	big := make([]byte, MaxVoteExtensionSize+1)
	for name, tc := range map[string]struct {
		vote    Vote
		enabled bool
		ok      bool
	}{
		"precommit with extension":           {Vote{Type: PrecommitType, BlockID: block, Extension: []byte("x"), ExtensionSignature: testSig(1)}, true, true},
		"precommit, empty extension":         {Vote{Type: PrecommitType, BlockID: block, ExtensionSignature: testSig(1)}, true, true},
		"precommit without signature":        {Vote{Type: PrecommitType, BlockID: block, Extension: []byte("x")}, true, false},
		"precommit, extensions not in force": {Vote{Type: PrecommitType, BlockID: block, Extension: []byte("x"), ExtensionSignature: testSig(1)}, false, false},
		"plain precommit, not in force":      {Vote{Type: PrecommitType, BlockID: block}, false, true},
		"nil precommit with extension":       {Vote{Type: PrecommitType, Extension: []byte("x"), ExtensionSignature: testSig(1)}, true, false},
		"nil precommit":                      {Vote{Type: PrecommitType}, true, true},
		"prevote with extension":             {Vote{Type: PrevoteType, BlockID: block, ExtensionSignature: testSig(1)}, true, false},
		"oversized extension":                {Vote{Type: PrecommitType, BlockID: block, Extension: big, ExtensionSignature: testSig(1)}, true, false},
	} {
		t.Run(name, func(t *testing.T) {
			err := tc.vote.CheckExtension(tc.enabled)
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalidExtension)) {
				t.Fatalf("CheckExtension(%v) = %v, want ok %v", tc.enabled, err, tc.ok)
			}
		})
	}
	v := Vote{Type: PrecommitType, Height: 1, BlockID: block, Signature: testSig(1), Extension: big}
	if err := v.ValidateBasic(); !errors.Is(err, ErrInvalidExtension) {
		t.Fatalf("ValidateBasic of an oversized extension: %v", err)
	}
	v = Vote{Type: PrevoteType, Height: 1, BlockID: block, Signature: testSig(1), Extension: []byte("x")}
	if err := v.ValidateBasic(); !errors.Is(err, ErrInvalidExtension) {
		t.Fatalf("ValidateBasic of a prevote's extension: %v", err)
	}
}

// signedExtendedCommit is a commit of vs (every slot for the block) whose
// extensions are signed by their validators.
func signedExtendedCommit(t *testing.T, vs *ValidatorSet) *ExtendedCommit {
	t.Helper()
	keys := map[Address]ed25519.PrivateKey{}
	for i := range vs.Size() { // testValidatorSet's keys
		seed := sha256.Sum256([]byte{byte(i)})
		priv := ed25519.NewKeyFromSeed(seed[:])
		keys[AddressOf(priv.Public().(ed25519.PublicKey))] = priv
	}
	c := testCommit(5, vs)
	ec := &ExtendedCommit{Commit: c, Extensions: make([]ExtensionSig, len(c.Signatures))}
	for i, val := range vs.Validators {
		if c.Signatures[i].Flag != BlockIDFlagCommit {
			continue
		}
		v := c.VoteAt(i)
		v.Extension = []byte{byte(i), 'x'}
		ec.Extensions[i] = ExtensionSig{Extension: v.Extension, Signature: ed25519.Sign(keys[val.Address], VoteExtensionSignBytes("test-chain", v))}
	}
	return ec
}

func TestExtendedCommitChecks(t *testing.T) {
	vs := testValidatorSet(t, 6)
	ec := signedExtendedCommit(t, vs)
	if err := ec.Check(true); err != nil {
		t.Fatal(err)
	}
	if err := ec.VerifyExtensions("test-chain", vs); err != nil {
		t.Fatal(err)
	}
	if err := ec.Check(false); !errors.Is(err, ErrInvalidCommit) {
		t.Fatalf("Check(false) of a commit with extensions: %v", err)
	}
	pb := ec.ToProto()
	back, err := ExtendedCommitFromProto(pb)
	if err != nil {
		t.Fatal(err)
	}
	if back.Commit.Hash() != ec.Commit.Hash() || !bytes.Equal(back.Extensions[0].Extension, ec.Extensions[0].Extension) || !bytes.Equal(back.Extensions[0].Signature, ec.Extensions[0].Signature) {
		t.Fatal("the extended commit changed in its round trip through protobuf")
	}
	back.Extensions[0].Extension = []byte("forged")
	if err := back.VerifyExtensions("test-chain", vs); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("a forged extension verifies: %v", err)
	}
	if err := ec.VerifyExtensions("other-chain", vs); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("extensions verify for another chain: %v", err)
	}
	pb.Extensions = pb.Extensions[1:]
	if _, err := ExtendedCommitFromProto(pb); !errors.Is(err, ErrInvalidProto) {
		t.Fatalf("an extended commit short of an extension entry decodes: %v", err)
	}
	if err := WithoutExtensions(ec.Commit).Check(false); err != nil {
		t.Fatalf("a commit without extensions, where none are in force: %v", err)
	}
	if err := WithoutExtensions(ec.Commit).Check(true); !errors.Is(err, ErrInvalidCommit) {
		t.Fatalf("a commit without extensions, where they are in force: %v", err)
	}
}
