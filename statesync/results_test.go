package statesync

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"

	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
)

// resultNet serves three snapshots: height 30 format 2 and height 20
// format 2 from peer "a", height 10 format 1 from peer "b".
func resultNet() (*fakeNet, map[uint64][]byte, fakeVerifier) {
	net := newFakeNet()
	states := map[uint64][]byte{}
	verified := fakeVerifier{}
	for _, x := range []struct {
		peer   string
		height uint64
		format uint32
	}{{"a", 30, 2}, {"a", 20, 2}, {"b", 10, 1}} {
		st := testState(byte(x.height), 600)
		snap, chunks := makeSnapshot(x.height, x.format, st, 3)
		net.serve(x.peer, snap, chunks)
		states[x.height], verified[x.height] = st, appHashOf(st)
	}
	return net, states, verified
}

// TestResultCodes: every OfferSnapshot and ApplySnapshotChunk result, and
// refetch_chunks, does what ABCI says.
func TestResultCodes(t *testing.T) {
	offerOnce := func(height uint64, r abci.ResponseOfferSnapshot_Result) func(*fakeApp) {
		return func(a *fakeApp) {
			a.onOffer = func(s *abci.Snapshot) abci.ResponseOfferSnapshot_Result {
				if s.Height == height {
					return r
				}
				return abci.ResponseOfferSnapshot_ACCEPT
			}
		}
	}
	// applyOnce answers resp to the first ApplySnapshotChunk of chunk 1
	// at the given height (the restore in progress), then behaves.
	applyOnce := func(resp *abci.ResponseApplySnapshotChunk) func(*fakeApp) {
		return func(a *fakeApp) {
			done := false
			a.onApply = func(req *abci.RequestApplySnapshotChunk) *abci.ResponseApplySnapshotChunk {
				if done || req.Index != 1 || a.restore.Height != 30 {
					return nil
				}
				done = true
				return resp
			}
		}
	}
	for _, tc := range []struct {
		name        string
		setup       func(*fakeApp)
		wantErr     error
		wantHeight  uint64
		wantOffered []uint64
		reported    string
		applies0    int // times chunk 0 is applied (0: not checked)
	}{
		{"offer accept", nil, nil, 30, []uint64{30}, "", 0},
		{"offer abort", offerOnce(30, abci.ResponseOfferSnapshot_ABORT), ErrAborted, 0, []uint64{30}, "", 0},
		{"offer reject: next snapshot", offerOnce(30, abci.ResponseOfferSnapshot_REJECT), nil, 20, []uint64{30, 20}, "", 0},
		{"offer reject format: skips the other snapshot of that format", offerOnce(30, abci.ResponseOfferSnapshot_REJECT_FORMAT), nil, 10, []uint64{30, 10}, "", 0},
		{"offer reject sender: skips that peer's snapshots", offerOnce(30, abci.ResponseOfferSnapshot_REJECT_SENDER), nil, 10, []uint64{30, 10}, "a", 0},
		{"offer unknown result: error", offerOnce(30, abci.ResponseOfferSnapshot_UNKNOWN), errors.New("ABCI does not define"), 0, []uint64{30}, "", 0},
		{"apply abort", applyOnce(&abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_ABORT}), ErrAborted, 0, []uint64{30}, "", 0},
		{"apply retry: chunk applied again", applyOnce(&abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_RETRY}), nil, 30, []uint64{30}, "", 0},
		{"apply retry snapshot: offered again", applyOnce(&abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_RETRY_SNAPSHOT}), nil, 30, []uint64{30, 30}, "", 0},
		{"apply reject snapshot: next snapshot", applyOnce(&abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_REJECT_SNAPSHOT}), nil, 20, []uint64{30, 20}, "", 0},
		{"apply accept with refetch of chunk 0", applyOnce(&abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_ACCEPT, RefetchChunks: []uint32{0}}), nil, 30, []uint64{30}, "", 2},
		{"apply reject sender: peer a's snapshots skipped", applyOnce(&abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_RETRY, RejectSenders: []string{"a"}}), nil, 10, []uint64{30, 10}, "a", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				net, states, verified := resultNet()
				app := &fakeApp{}
				if tc.setup != nil {
					tc.setup(app)
				}
				res, err := New(testConfig, app, net, verified).Sync(context.Background())
				switch {
				case tc.wantErr == nil && err != nil:
					t.Fatal(err)
				case tc.wantErr != nil && err == nil:
					t.Fatalf("no error, want %v", tc.wantErr)
				case tc.wantErr != nil && !errors.Is(err, tc.wantErr) && !bytes.Contains([]byte(err.Error()), []byte(tc.wantErr.Error())):
					t.Fatalf("got %v, want %v", err, tc.wantErr)
				}
				if !slices.Equal(app.offered, tc.wantOffered) {
					t.Errorf("offered %v, want %v", app.offered, tc.wantOffered)
				}
				if tc.wantErr != nil {
					return
				}
				if res.Snapshot.Height != tc.wantHeight || !bytes.Equal(app.state, states[tc.wantHeight]) {
					t.Errorf("restored height %d, want %d with its state", res.Snapshot.Height, tc.wantHeight)
				}
				if n := count(app.applied, 0); tc.applies0 != 0 && n != tc.applies0 {
					t.Errorf("chunk 0 applied %d times, want %d", n, tc.applies0)
				}
				if tc.reported != "" && len(net.reports[tc.reported]) == 0 {
					t.Errorf("peer %s not reported: %v", tc.reported, net.reports)
				}
			})
		})
	}
}

func count(s []uint32, v uint32) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}
