package engine

import (
	"context"
	"fmt"

	"github.com/bftnode/bftnode/app"
	"github.com/bftnode/bftnode/mempool"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
)

// MempoolChecker adapts an application's CheckTx to the mempool.
func MempoolChecker(a app.Application) mempool.Checker { return appChecker{a} }

type appChecker struct{ app app.Application }

func (c appChecker) CheckTx(ctx context.Context, tx []byte, recheck bool) (mempool.CheckResult, error) {
	typ := abci.CheckTxType_New
	if recheck {
		typ = abci.CheckTxType_Recheck
	}
	resp, err := c.app.CheckTx(ctx, &abci.RequestCheckTx{Tx: tx, Type: typ})
	if err != nil {
		return mempool.CheckResult{}, fmt.Errorf("%w: CheckTx: %w", ErrApp, err)
	}
	return mempool.CheckResult{Code: resp.Code, Log: resp.Log, GasWanted: resp.GasWanted}, nil
}
