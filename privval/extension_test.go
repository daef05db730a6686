package privval

import (
	"bytes"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/bftnode/bftnode/types"
)

func precommit(ext []byte) *types.Vote {
	return &types.Vote{Type: types.PrecommitType, Height: 7, Round: 1, BlockID: blockID("b"),
		Timestamp: time.Unix(1_767_225_600, 0).UTC(), Extension: ext}
}

func verifiesExtension(pv *FilePV, v *types.Vote) bool {
	return ed25519.Verify(pv.PubKey(), types.VoteExtensionSignBytes(chainID, v), v.ExtensionSignature)
}

// A precommit for a block that carries an extension (empty included) gets
// its extension signature with the vote's; one without none; a prevote
// never.
func TestSignVoteExtension(t *testing.T) {
	for name, tc := range map[string]struct {
		vote    *types.Vote
		wantExt bool
	}{
		"extension":       {precommit([]byte("oracle")), true},
		"empty extension": {precommit([]byte{}), true},
		"no extension":    {precommit(nil), false},
		"nil precommit":   {&types.Vote{Type: types.PrecommitType, Height: 7, Timestamp: time.Unix(1_767_225_600, 0).UTC(), Extension: []byte{}}, false},
	} {
		t.Run(name, func(t *testing.T) {
			pv := genPV(t, newPaths(t))
			if err := pv.SignVote(chainID, tc.vote); err != nil {
				t.Fatal(err)
			}
			if got := len(tc.vote.ExtensionSignature) > 0; got != tc.wantExt {
				t.Fatalf("extension signature present: %v, want %v", got, tc.wantExt)
			}
			if tc.wantExt && !verifiesExtension(pv, tc.vote) {
				t.Fatal("the extension signature does not verify over CanonicalVoteExtension")
			}
		})
	}
}

// Asked again for the precommit it signed (same height, round and step),
// after a restart, the signer returns the saved signatures, the extension's
// too; asked with another extension (an application whose extensions are
// not deterministic), it signs that one, and never a conflicting vote.
func TestSignVoteExtensionAgain(t *testing.T) {
	p := newPaths(t)
	pv := genPV(t, p)
	first := precommit([]byte("one"))
	if err := pv.SignVote(chainID, first); err != nil {
		t.Fatal(err)
	}
	pv = reload(t, p)
	again := precommit([]byte("one"))
	if err := pv.SignVote(chainID, again); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Signature, first.Signature) || !bytes.Equal(again.ExtensionSignature, first.ExtensionSignature) {
		t.Fatal("re-signing the same precommit did not return the saved signatures")
	}
	other := precommit([]byte("two"))
	if err := pv.SignVote(chainID, other); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(other.Signature, first.Signature) || !verifiesExtension(pv, other) || bytes.Equal(other.ExtensionSignature, first.ExtensionSignature) {
		t.Fatal("a new extension of the same precommit did not get its own valid extension signature")
	}
	pv = reload(t, p)
	latest := precommit([]byte("two"))
	if err := pv.SignVote(chainID, latest); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(latest.ExtensionSignature, other.ExtensionSignature) {
		t.Fatal("the extension signed last was not saved")
	}
	conflicting := precommit([]byte("two"))
	conflicting.BlockID = blockID("c")
	if err := pv.SignVote(chainID, conflicting); err == nil || conflicting.ExtensionSignature != nil {
		t.Fatalf("a conflicting precommit was signed (err %v, extension signature %x)", err, conflicting.ExtensionSignature)
	}
}
