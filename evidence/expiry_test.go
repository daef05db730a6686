package evidence

import (
	"encoding/json"
	"os"
	"testing"
	"time"
)

// The expiry cases of types/testdata/cometbft_evidence_vectors.json are
// decided by CometBFT v0.40.0's IsEvidenceExpired (test/interop
// TestEvidenceVectors).

type vectors struct {
	Expiry []struct {
		HeightNow       int64         `json:"height_now"`
		TimeNow         time.Time     `json:"time_now"`
		HeightEv        int64         `json:"height_ev"`
		TimeEv          time.Time     `json:"time_ev"`
		MaxAgeNumBlocks int64         `json:"max_age_num_blocks"`
		MaxAgeDuration  time.Duration `json:"max_age_duration"`
		Expired         bool          `json:"expired"`
	} `json:"expiry"`
}

func loadVectors(t *testing.T, b []byte) *vectors {
	t.Helper()
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Expiry) == 0 {
		t.Fatal("no vectors")
	}
	return &v
}

func TestExpiredMatchesCometBFT(t *testing.T) {
	b, err := os.ReadFile("../types/testdata/cometbft_evidence_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	expired := 0
	for i, e := range loadVectors(t, b).Expiry {
		st := State{Height: e.HeightNow, Time: e.TimeNow, Params: Params{MaxAgeNumBlocks: e.MaxAgeNumBlocks, MaxAgeDuration: e.MaxAgeDuration}}
		if got := Expired(st, e.HeightEv, e.TimeEv); got != e.Expired {
			t.Errorf("case %d: expired %v, CometBFT says %v", i, got, e.Expired)
		}
		if e.Expired {
			expired++
		}
	}
	if expired == 0 || expired == len(loadVectors(t, b).Expiry) {
		t.Error("the vectors should hold both expired and live evidence")
	}
}
