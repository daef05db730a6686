package light

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bftnode/bftnode/types"
)

func storedHeights(t *testing.T, s *Store, upTo int64) []int64 {
	t.Helper()
	var hs []int64
	for h := int64(1); h <= upTo; h++ {
		lb, err := s.LightBlock(h)
		if err != nil {
			t.Fatal(err)
		}
		if lb != nil {
			hs = append(hs, h)
		}
	}
	return hs
}

func TestClientSkippingBisectsAcrossSetChanges(t *testing.T) {
	c := genChain(t, testChainID, 30, threeEras, sameAppHash)
	primary := newProvider("primary", c, 30)
	witness := newProvider("witness", c, 30)
	client, store := newTestClient(t, primary, []Provider{witness}, false, "")
	lb, err := client.Update(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if lb.Height() != 30 || lb.Hash() != c.blocks[30].Hash() {
		t.Fatalf("Update verified height %d %X, want 30 %X", lb.Height(), lb.Hash(), c.blocks[30].Hash())
	}
	// 1→30 shares no validator: bisect to 15 (keys 2-5, half of height
	// 1's set), then 15→30 needs 20→21 (adjacent, the set changes).
	got := storedHeights(t, store, 30)
	if !slices.Contains(got, 15) || !slices.Contains(got, 21) || len(got) >= 10 {
		t.Fatalf("stored heights %v: want a bisection trace through 15 and 21, far fewer than 30 headers", got)
	}
	if !slices.Equal(witness.fetches, []int64{1, 30}) {
		t.Errorf("witness asked for %v, want the trusted height and the target only", witness.fetches)
	}
}

func TestClientSequentialVerifiesEveryHeight(t *testing.T) {
	c := genChain(t, testChainID, 30, threeEras, sameAppHash)
	client, store := newTestClient(t, newProvider("primary", c, 30), []Provider{newProvider("witness", c, 30)}, true, "")
	if _, err := client.VerifyLightBlockAtHeight(context.Background(), 25); err != nil {
		t.Fatal(err)
	}
	if got := storedHeights(t, store, 30); len(got) != 25 {
		t.Fatalf("stored heights %v, want 1..25", got)
	}
	client.opts.PruningSize = 10
	if _, err := client.Update(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := storedHeights(t, store, 30); !slices.Equal(got, []int64{21, 22, 23, 24, 25, 26, 27, 28, 29, 30}) {
		t.Fatalf("stored heights %v after pruning to 10, want 21..30", got)
	}
}

func TestClientVerifiesBackwardsByHashLinks(t *testing.T) {
	c := genChain(t, testChainID, 30, threeEras, sameAppHash)
	primary := newProvider("primary", c, 30)
	store := memStore(t)
	client, err := NewClient(context.Background(), testChainID, TrustOptions{Height: 20, Hash: c.blocks[20].Hash()}, primary,
		[]Provider{newProvider("witness", c, 30)}, store, ClientOptions{VerifyOptions: testOpts, Now: at(40, 0)})
	if err != nil {
		t.Fatal(err)
	}
	lb, err := client.VerifyLightBlockAtHeight(context.Background(), 16)
	if err != nil || lb.Hash() != c.blocks[16].Hash() {
		t.Fatalf("backwards to 16: %v", err)
	}
	// A primary that lies about height 15 breaks the hash link.
	other := genChain(t, testChainID, 30, threeEras, func(h int64) []byte { return []byte{byte(h)} })
	primary.replace[15] = other.blocks[15]
	if _, err := client.VerifyLightBlockAtHeight(context.Background(), 12); !errors.Is(err, ErrInvalidHeader) {
		t.Fatalf("a forged header below the trusted one: %v, want ErrInvalidHeader", err)
	}
	if lb, _ := store.LightBlock(15); lb != nil {
		t.Fatal("the forged header was stored")
	}
}

func TestClientRefusesAttacks(t *testing.T) {
	c := genChain(t, testChainID, 30, threeEras, sameAppHash)
	forged := c.clone(30)
	forged.Commit.Signatures[2].Signature = append([]byte(nil), forged.Commit.Signatures[2].Signature...)
	forged.Commit.Signatures[2].Signature[5] ^= 0x40
	for _, tc := range []struct {
		name    string
		replace map[int64]*LightBlock
		want    error
	}{
		{"forged commit at the target", map[int64]*LightBlock{30: forged}, types.ErrBadSignature},
		{"another chain's header", map[int64]*LightBlock{30: genChain(t, "other", 30, threeEras, sameAppHash).blocks[30]}, ErrInvalidLightBlock},
	} {
		t.Run(tc.name, func(t *testing.T) {
			primary := newProvider("primary", c, 30)
			client, store := newTestClient(t, primary, []Provider{newProvider("witness", c, 30)}, false, "")
			primary.replace = tc.replace
			_, err := client.Update(context.Background())
			if !errors.Is(err, tc.want) {
				t.Fatalf("Update: %v, want %v", err, tc.want)
			}
			if lb, _ := store.Latest(); lb.Height() != 1 {
				t.Fatalf("latest trusted height %d after a refused update, want 1", lb.Height())
			}
		})
	}
}

func TestClientExpiredTrust(t *testing.T) {
	c := genChain(t, testChainID, 30, threeEras, sameAppHash)
	primary := newProvider("primary", c, 30)
	client, _ := newTestClient(t, primary, []Provider{newProvider("witness", c, 30)}, false, "")
	client.opts.Now = at(1, testOpts.TrustingPeriod)
	if _, err := client.Update(context.Background()); !errors.Is(err, ErrOldHeaderExpired) {
		t.Fatalf("Update after the trusting period: %v, want ErrOldHeaderExpired", err)
	}
	_, err := NewClient(context.Background(), testChainID, TrustOptions{Height: 1, Hash: c.blocks[1].Hash()}, primary,
		[]Provider{primary}, memStore(t), ClientOptions{VerifyOptions: testOpts, Now: at(1, testOpts.TrustingPeriod)})
	if !errors.Is(err, ErrOldHeaderExpired) {
		t.Fatalf("NewClient trusting an expired header: %v, want ErrOldHeaderExpired", err)
	}
}

func TestNewClientChecks(t *testing.T) {
	c := genChain(t, testChainID, 5, threeEras, sameAppHash)
	p := newProvider("primary", c, 5)
	opts := ClientOptions{VerifyOptions: testOpts, Now: at(5, 0)}
	ctx := context.Background()
	if _, err := NewClient(ctx, testChainID, TrustOptions{Height: 1, Hash: c.blocks[1].Hash()}, p, nil, memStore(t), opts); !errors.Is(err, ErrNoWitnesses) {
		t.Errorf("no witnesses: %v", err)
	}
	if _, err := NewClient(ctx, testChainID, TrustOptions{Height: 1, Hash: c.blocks[2].Hash()}, p, []Provider{p}, memStore(t), opts); !errors.Is(err, ErrTrustedHash) {
		t.Errorf("wrong trusted hash: %v", err)
	}
	if _, err := NewClient(ctx, "wrong-chain", TrustOptions{Height: 1, Hash: c.blocks[1].Hash()}, p, []Provider{p}, memStore(t), opts); !errors.Is(err, ErrInvalidLightBlock) {
		t.Errorf("wrong chain ID: %v", err)
	}
	if _, err := NewClient(ctx, testChainID, TrustOptions{}, p, []Provider{p}, memStore(t), opts); !errors.Is(err, ErrNoTrust) {
		t.Errorf("empty store, no trust options: %v", err)
	}
	// A store keeps its trust across restarts, and refuses a different
	// header at a stored height.
	store := memStore(t)
	if _, err := NewClient(ctx, testChainID, TrustOptions{Height: 2, Hash: c.blocks[2].Hash()}, p, []Provider{p}, store, opts); err != nil {
		t.Fatal(err)
	}
	if _, err := NewClient(ctx, testChainID, TrustOptions{}, p, []Provider{p}, store, opts); err != nil {
		t.Errorf("restart from the store: %v", err)
	}
	if _, err := NewClient(ctx, testChainID, TrustOptions{Height: 2, Hash: c.blocks[3].Hash()}, p, []Provider{p}, store, opts); !errors.Is(err, ErrTrustedHash) {
		t.Errorf("another hash at a stored height: %v", err)
	}
}

func TestClientDetectsDivergentWitness(t *testing.T) {
	c, fork := genChain(t, testChainID, 30, threeEras, sameAppHash), forkAfter10(t)
	dir := t.TempDir()
	client, store := newTestClient(t, newProvider("primary", c, 30), []Provider{newProvider("honest", c, 30), newProvider("forked", fork, 30)}, false, dir)
	_, err := client.VerifyLightBlockAtHeight(context.Background(), 18)
	var conflict *ConflictError
	if !errors.As(err, &conflict) || !errors.Is(err, ErrConflict) {
		t.Fatalf("verify with a forked witness: %v, want a *ConflictError", err)
	}
	if conflict.Height != 18 || conflict.CommonHeight != 1 || conflict.Witness != "forked" || conflict.Primary != "primary" ||
		conflict.PrimaryBlock.Hash() != c.blocks[18].Hash() || conflict.WitnessBlock.Hash() != fork.blocks[18].Hash() {
		t.Fatalf("conflict %+v does not name both headers at 18", conflict)
	}
	for _, want := range []string{"height 18", "primary primary", "witness forked", conflict.EvidenceFile} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if lb, _ := store.LightBlock(18); lb != nil {
		t.Error("the disputed header was stored as trusted")
	}
	select {
	case <-client.Halted():
	default:
		t.Error("the client did not halt on the conflict")
	}
	if _, err := client.VerifyLightBlockAtHeight(context.Background(), 5); !errors.Is(err, ErrConflict) {
		t.Errorf("verification after the conflict: %v, want the conflict again", err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) != 1 || files[0] != conflict.EvidenceFile {
		t.Fatalf("evidence files %v, want %s", files, conflict.EvidenceFile)
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Height  string `json:"height"`
		Primary struct {
			Provider   string `json:"provider"`
			Hash       string `json:"hash"`
			LightBlock struct {
				SignedHeader struct {
					Header struct {
						Height  string `json:"height"`
						AppHash string `json:"app_hash"`
					} `json:"header"`
					Commit struct {
						Signatures []json.RawMessage `json:"signatures"`
					} `json:"commit"`
				} `json:"signed_header"`
			} `json:"light_block"`
		} `json:"primary"`
		Witness struct {
			Provider string `json:"provider"`
			Hash     string `json:"hash"`
		} `json:"witness"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	ph, wh := c.blocks[18].Hash(), fork.blocks[18].Hash()
	if ev.Height != "18" || ev.Primary.Provider != "primary" || ev.Witness.Provider != "forked" ||
		!strings.EqualFold(ev.Primary.Hash, hexOf(ph[:])) || !strings.EqualFold(ev.Witness.Hash, hexOf(wh[:])) ||
		ev.Primary.LightBlock.SignedHeader.Header.Height != "18" || ev.Primary.LightBlock.SignedHeader.Header.AppHash != "617070" ||
		len(ev.Primary.LightBlock.SignedHeader.Commit.Signatures) != 4 {
		t.Fatalf("evidence file does not hold both light blocks:\n%s", raw)
	}
}

func TestClientDropsFaultyWitness(t *testing.T) {
	c := genChain(t, testChainID, 30, threeEras, sameAppHash)
	liar := newProvider("liar", c, 30)
	bad := c.clone(30)
	bad.Header.AppHash = []byte("made up") // its commit no longer signs it
	liar.replace[30] = bad
	honest := newProvider("honest", c, 30)
	client, _ := newTestClient(t, newProvider("primary", c, 30), []Provider{liar, honest}, false, "")
	if _, err := client.Update(context.Background()); err != nil {
		t.Fatalf("Update with one faulty witness: %v", err)
	}
	if len(client.witnesses) != 1 || client.witnesses[0] != Provider(honest) {
		t.Fatalf("witnesses after the update: %d, want only the honest one", len(client.witnesses))
	}
	// With only a faulty witness left, nothing confirms the primary.
	client2, _ := newTestClient(t, newProvider("primary", c, 30), []Provider{liar}, false, "")
	if _, err := client2.Update(context.Background()); !errors.Is(err, ErrNoWitnesses) {
		t.Fatalf("Update with a single faulty witness: %v, want ErrNoWitnesses", err)
	}
}
