package privval

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/bftnode/bftnode/types"
)

// BenchmarkSignVote signs a fresh precommit per iteration, so each one
// persists the last-sign state: after the first, one in-place slot write
// and an fdatasync. Set BFTNODE_BENCH_DIR to measure on a chosen disk.
func BenchmarkSignVote(b *testing.B) {
	dir := b.TempDir()
	if base := os.Getenv("BFTNODE_BENCH_DIR"); base != "" {
		var err error
		if dir, err = os.MkdirTemp(base, "privval-bench-"); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = os.RemoveAll(dir) })
	}
	pv := genPV(b, paths{key: filepath.Join(dir, "key.json"), state: filepath.Join(dir, "state.json")})
	b.ResetTimer()
	for i := range b.N {
		v := vote(pv, types.PrecommitType, int64(i+1), 0, "A", t0)
		if err := pv.SignVote(chainID, v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyVote(b *testing.B) {
	pv := genPV(b, newPaths(b))
	vals, err := types.NewValidatorSet([]*types.Validator{types.NewValidator(pv.PubKey(), 1)})
	if err != nil {
		b.Fatal(err)
	}
	v := vote(pv, types.PrecommitType, 1, 0, "A", t0)
	if err := pv.SignVote(chainID, v); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if err := types.VerifyVote(chainID, vals, v); err != nil {
			b.Fatal(err)
		}
	}
}
