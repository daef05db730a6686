package bench

import (
	"bytes"
	"compress/flate"
	"errors"
	"strings"
	"sync"
	"testing"
)

func TestTxGenUniqueAndSized(t *testing.T) {
	for _, size := range []int{250, 1024, 40} {
		g, err := NewTxGen("run-1", size)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		seen := make(map[string]bool)
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 500 {
					seq, tx := g.Next()
					if len(tx) != size {
						t.Errorf("tx %d is %d bytes, want %d", seq, len(tx), size)
					}
					if got, ok := g.Parse(tx); !ok || got != seq {
						t.Errorf("Parse(tx %d) = %d, %v", seq, got, ok)
					}
					k, _, ok := bytes.Cut(tx, []byte("="))
					if !ok || len(k) == 0 {
						t.Errorf("tx %q is not key=value", tx)
					}
					mu.Lock()
					if seen[string(k)] {
						t.Errorf("key %q generated twice", k)
					}
					seen[string(k)] = true
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(seen) != 2000 {
			t.Errorf("size %d: %d unique keys, want 2000", size, len(seen))
		}
	}
}

func TestTxGenValuesDoNotCompress(t *testing.T) {
	g, _ := NewTxGen("z", 1024)
	_, a := g.Next()
	_, b := g.Next()
	_, va, _ := bytes.Cut(a, []byte("="))
	_, vb, _ := bytes.Cut(b, []byte("="))
	if bytes.Equal(va, vb) {
		t.Errorf("two txs have the same value")
	}
	for _, c := range va {
		if !strings.ContainsRune(valueAlphabet, rune(c)) {
			t.Fatalf("value byte %q is not a letter or digit", c)
		}
	}
	var z bytes.Buffer
	w, _ := flate.NewWriter(&z, flate.BestCompression)
	_, _ = w.Write(va)
	_ = w.Close()
	if z.Len() < len(va)*7/10 {
		t.Errorf("a %d-byte value compresses to %d bytes; want it mostly incompressible", len(va), z.Len())
	}
	if !bytes.Equal(g.makeTx(1), b) {
		t.Errorf("txs are not a function of their sequence number")
	}
}

func TestTxGenRejectsBadOptions(t *testing.T) {
	for _, tc := range []struct {
		runID string
		size  int
	}{{"", 250}, {"a b", 250}, {"x/y", 250}, {"ok", 10}, {"ok", -1}} {
		if _, err := NewTxGen(tc.runID, tc.size); !errors.Is(err, ErrBadOptions) {
			t.Errorf("NewTxGen(%q, %d) = %v, want ErrBadOptions", tc.runID, tc.size, err)
		}
	}
	g, err := NewTxGen("ok", 1)
	if err == nil || g != nil {
		t.Fatalf("size 1 accepted")
	}
	g, err = NewTxGen("ok", 0)
	if err == nil {
		t.Fatalf("size 0 accepted: %v", g)
	}
	g, err = NewTxGen("ok", 250)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewTxGen("ok", g.MinSize()); err != nil {
		t.Errorf("the minimum size %d is refused: %v", g.MinSize(), err)
	}
}

func TestTxGenParseRejectsOtherTxs(t *testing.T) {
	g, _ := NewTxGen("aa", 64)
	other, _ := NewTxGen("bb", 64)
	_, theirs := other.Next()
	_, ours := g.Next()
	short := ours[:63]
	badSeq := bytes.Clone(ours)
	badSeq[len("bench/aa/")] = 'z'
	noEq := bytes.Clone(ours)
	noEq[len("bench/aa/")+seqDigits] = 'v'
	for name, tx := range map[string][]byte{"other run": theirs, "short": short, "bad seq": badSeq, "no =": noEq, "empty": nil, "plain": []byte("foo=bar")} {
		if seq, ok := g.Parse(tx); ok {
			t.Errorf("%s: Parse(%q) = %d, true", name, tx, seq)
		}
	}
}
