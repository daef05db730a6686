package kvstore_test

import (
	"context"
	"testing"

	"github.com/bftnode/bftnode/app/kvstore"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
)

// TestRetainingKeepsTheLastBlocks: with Blocks 3, Commit returns no retain
// height until 3 blocks exist, then height-2, as CometBFT's kvstore with
// RetainBlocks 3.
func TestRetainingKeepsTheLastBlocks(t *testing.T) {
	ctx := context.Background()
	r := &kvstore.Retaining{App: openInMemory(t), Blocks: 3}
	for h, want := range []int64{0, 0, 1, 2, 3} {
		height := int64(h + 1)
		if _, err := r.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: height}); err != nil {
			t.Fatal(err)
		}
		resp, err := r.Commit(ctx, &abci.RequestCommit{})
		if err != nil {
			t.Fatal(err)
		}
		if resp.RetainHeight != want {
			t.Fatalf("Commit of height %d: retain height %d, want %d", height, resp.RetainHeight, want)
		}
	}
}
