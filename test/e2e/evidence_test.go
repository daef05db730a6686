package e2e

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/bftnode/bftnode/rpc"
)

// maxEvidenceDelay bounds, in heights, how late the first evidence against
// a double signer may be committed after the votes it proves.
const maxEvidenceDelay = 10

// accusation is where a validator was first accused: the first block with
// evidence against it, and the lowest height of the votes any committed
// evidence against it proves.
type accusation struct{ block, votes int64 }

func doubleSigner(p *proc) bool { return p.byzantine == "equivocate" || p.byzantine == "doublevote" }

// checkEvidence checks accountability on the chain: every validator that
// signed conflicting votes (equivocate, doublevote) has duplicate-vote
// evidence against it committed within maxEvidenceDelay heights of its
// earliest proven double signing, and no evidence accuses any other. It
// returns the accusations by upper-case address.
func checkEvidence(n *network, ref []*blockJSON, o *outcome) map[string]accusation {
	accused := map[string]accusation{}
	for h := 1; h < len(ref); h++ {
		for _, ev := range ref[h].Block.Evidence.Evidence {
			if ev.Type != "tendermint/DuplicateVoteEvidence" {
				o.violate("evidence: block %d holds %s; only duplicate votes are expected", h, ev.Type)
				continue
			}
			addr := strings.ToUpper(ev.Value.VoteA.ValidatorAddress)
			votes, err := strconv.ParseInt(ev.Value.VoteA.Height, 10, 64)
			if err != nil {
				o.violate("evidence: block %d: vote height %q: %v", h, ev.Value.VoteA.Height, err)
				continue
			}
			a, ok := accused[addr]
			if !ok {
				a = accusation{block: int64(h), votes: votes}
			}
			a.votes = min(a.votes, votes)
			accused[addr] = a
		}
	}
	names := map[string]*proc{}
	for _, p := range n.procs {
		names[strings.ToUpper(p.address)] = p
	}
	for addr, a := range accused {
		if p := names[addr]; p == nil || !doubleSigner(p) {
			o.violate("evidence: block %d accuses validator %s, which signed nothing twice", a.block, addr)
		} else if a.block-a.votes > maxEvidenceDelay {
			o.violate("evidence: the first against %s (%s) is in block %d, more than %d heights after the double signing at height %d",
				p.name, addr, a.block, maxEvidenceDelay, a.votes)
		}
	}
	for _, p := range n.procs {
		if _, ok := accused[strings.ToUpper(p.address)]; !ok && doubleSigner(p) {
			o.violate("evidence: the %s validator %s (%s) double-signed, but no committed block holds evidence against it", p.byzantine, p.name, p.address)
		}
	}
	return accused
}

// checkPunished checks that the evidence reached every application and
// punished the double signer (the kvstore app removes it): for each double
// signer, every node's FinalizeBlock results at the first block accusing it
// hold kvstore's "misbehavior" event removing it; every node's validator
// set at the last height no longer holds it; and at least 3 blocks from
// the height its removal takes effect (the accusing block + 2) were
// committed by the others, without its signature.
func checkPunished(ctx context.Context, n *network, ref []*blockJSON, accused map[string]accusation, o *outcome) {
	top := int64(len(ref) - 1)
	for _, p := range n.procs {
		a, ok := accused[strings.ToUpper(p.address)]
		if !ok || !doubleSigner(p) {
			continue
		}
		addr := strings.ToLower(p.address)
		removed := a.block + 2
		if top < removed+3 {
			o.violate("punishment: the chain ended at %d, before 3 blocks after %s's removal at %d", top, p.name, removed)
			continue
		}
		for _, q := range n.procs {
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			actions, err := misbehaviorActions(cctx, q.client, a.block, addr)
			if err == nil && (len(actions) == 0 || actions[0] != "removed") {
				o.violate("punishment: %s's app, at block %d, recorded misbehavior actions %q against %s; want it removed", q.name, a.block, actions, p.name)
			}
			var vals map[string]bool
			if err == nil {
				vals, err = validatorSet(cctx, q.client, top)
			}
			cancel()
			switch {
			case err != nil:
				o.violate("punishment: %s: %v", q.name, err)
			case vals[addr] || len(vals) == 0:
				o.violate("punishment: %s's validator set at height %d still holds %s (%v)", q.name, top, p.name, vals)
			}
		}
		for h := removed + 1; h <= top; h++ {
			for _, s := range ref[h].Block.LastCommit.Signatures {
				if strings.EqualFold(s.ValidatorAddress, addr) {
					o.violate("punishment: the commit of block %d (in block %d) is signed by the removed %s", h-1, h, p.name)
				}
			}
		}
	}
}

// misbehaviorActions returns the actions of the "misbehavior" events of
// block h's FinalizeBlock results naming validator addr (lower-case hex).
func misbehaviorActions(ctx context.Context, c *rpc.Client, h int64, addr string) ([]string, error) {
	var res struct {
		Events []struct {
			Type       string `json:"type"`
			Attributes []struct {
				Key   string `json:"key"`
				Value string `json:"value"`
			} `json:"attributes"`
		} `json:"finalize_block_events"`
	}
	if err := c.Call(ctx, "block_results", map[string]any{"height": strconv.FormatInt(h, 10)}, &res); err != nil {
		return nil, err
	}
	var out []string
	for _, ev := range res.Events {
		if ev.Type != "misbehavior" {
			continue
		}
		attrs := map[string]string{}
		for _, a := range ev.Attributes {
			attrs[a.Key] = a.Value
		}
		if attrs["validator"] == addr {
			out = append(out, attrs["action"])
		}
	}
	return out, nil
}

// validatorSet returns the lower-case addresses of the validators at h.
func validatorSet(ctx context.Context, c *rpc.Client, h int64) (map[string]bool, error) {
	var res struct {
		Validators []struct {
			Address string `json:"address"`
		} `json:"validators"`
	}
	if err := c.Call(ctx, "validators", map[string]any{"height": strconv.FormatInt(h, 10)}, &res); err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, v := range res.Validators {
		out[strings.ToLower(v.Address)] = true
	}
	return out, nil
}
