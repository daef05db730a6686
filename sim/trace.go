package sim

import (
	"bufio"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/bftnode/bftnode/consensus"
	"github.com/bftnode/bftnode/consensus/engine"
	"github.com/bftnode/bftnode/consensus/msgs"
	"github.com/bftnode/bftnode/types"
)

// A trace is one run written step by step as JSON lines, for the web view
// (package ui, `bftnode ui FILE`) to play back. The first line is the
// header: {"k":"header", "replay": the command that reruns the run,
// "validators": [{"address", "power", "behaviour"}]}. Every other line is a
// record {"k": kind, "at": virtual time in ms, ...}:
//
//	step      n h r s      validator n entered step s (propose, prevote, precommit) of h/r
//	vote      n h r t b    validator n signed a t (prevote, precommit) for block b ("" nil):
//	                       each validly signed vote once, a decorated one's second vote too
//	proposal  n h r b      validator n proposed block b
//	timeout   n h r s      validator n's timeout of step s fired
//	lock      n h r b how  validator n locked (how: lock, relock) on b
//	valid     n h r        validator n's valid block changed
//	decide    n h r b      validator n stored block b, decided at h in round r
//	                       (by its core, or caught up with a peer's commit)
//	partition sides        the network split (sides[i]: validator i's side) or healed (null)
//	crash, restart  n      validator n crashed, came back
//
// Block hashes are upper-case hex, as CometBFT's JSON writes them.

// traceRecord is one line of a trace; which fields are set depends on K.
type traceRecord struct {
	K     string  `json:"k"`
	At    float64 `json:"at"`
	N     int     `json:"n"`
	H     int64   `json:"h,omitempty"`
	R     int32   `json:"r"`
	S     string  `json:"s,omitempty"`
	T     string  `json:"t,omitempty"`
	B     *string `json:"b,omitempty"`
	How   string  `json:"how,omitempty"`
	Sides []int   `json:"sides,omitempty"`
}

type traceValidator struct {
	Address string `json:"address"`
	Power   int64  `json:"power"`
	// Behaviour is the validator's Decoration.Label ("" undecorated).
	Behaviour string `json:"behaviour,omitempty"`
}

type traceHeader struct {
	K          string           `json:"k"`
	Replay     string           `json:"replay"`
	Validators []traceValidator `json:"validators"`
}

// tracer writes a run's trace: each validator's core is wrapped to report
// its steps (traceCore), and the world calls it at each send, partition,
// crash and restart. Its first write error is kept and reported
// when the run ends.
type tracer struct {
	w    *bufio.Writer
	enc  *json.Encoder
	err  error
	seen map[string]bool // signatures of the votes and proposals written
	// index gives each validator's place in the header, by address.
	index map[types.Address]int
}

func newTracer(w io.Writer) *tracer {
	bw := bufio.NewWriter(w)
	return &tracer{w: bw, enc: json.NewEncoder(bw), seen: map[string]bool{}, index: map[types.Address]int{}}
}

func (t *tracer) write(v any) {
	if t.err == nil {
		t.err = t.enc.Encode(v)
	}
}

// flush writes out what is buffered and returns the first error.
func (t *tracer) flush() error {
	if t.err == nil {
		t.err = t.w.Flush()
	}
	return t.err
}

func (t *tracer) header(w *world) {
	h := traceHeader{K: "header", Replay: w.cfg.ReplayCommand()}
	vals := w.valsAt(1)
	for i, n := range w.nodes {
		t.index[n.addr] = i
		_, v := vals.ByAddress(n.addr)
		h.Validators = append(h.Validators, traceValidator{Address: strings.ToUpper(hex.EncodeToString(n.addr[:])), Power: v.VotingPower, Behaviour: n.decoration.Label})
	}
	t.write(h)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func hashOf(id types.BlockID) *string {
	s := ""
	if !id.IsNil() {
		s = strings.ToUpper(hex.EncodeToString(id.Hash[:]))
	}
	return &s
}

var stepNames = map[consensus.Step]string{consensus.StepPropose: "propose", consensus.StepPrevote: "prevote", consensus.StepPrecommit: "precommit"}

// step records what validator n's core did with one event: it moved from
// before to after.
func (t *tracer) step(at time.Duration, n int, ev consensus.Event, before, after consensus.RoundState) {
	rec := func(k string, rs consensus.RoundState) traceRecord {
		return traceRecord{K: k, At: ms(at), N: n, H: rs.Height, R: rs.Round}
	}
	if tf, ok := ev.(consensus.TimeoutFired); ok && before != after { // a stale timeout does nothing
		r := rec("timeout", before)
		r.S = stepNames[tf.Step]
		t.write(r)
	}
	if before.Height != after.Height || before.Round != after.Round || before.Step != after.Step {
		r := rec("step", after)
		r.S = stepNames[after.Step]
		t.write(r)
	}
	if before.Height == after.Height && after.LockedRound != before.LockedRound && after.LockedRound >= 0 {
		r := rec("lock", after)
		r.B, r.How = hashOf(after.LockedValue), "lock"
		if before.LockedRound >= 0 && before.LockedValue == after.LockedValue {
			r.How = "relock"
		}
		t.write(r)
	}
	if before.Height == after.Height && after.ValidRound != before.ValidRound && after.ValidRound >= 0 {
		t.write(rec("valid", after))
	}
}

// decided records validator n storing block id as its decision of height h
// in round r (decided by its core, or caught up with a peer's commit).
func (t *tracer) decided(at time.Duration, n int, h int64, r int32, id types.BlockID) {
	t.write(traceRecord{K: "decide", At: ms(at), N: n, H: h, R: r, B: hashOf(id)})
}

// tracedCore is a validator's consensus core with every step it accepts
// written to the trace.
type tracedCore struct {
	engine.Core
	n *node
}

func (c tracedCore) Step(ev consensus.Event) ([]consensus.Action, error) {
	before := c.Core.RoundState()
	acts, err := c.Core.Step(ev)
	if err == nil {
		c.n.w.trace.step(c.n.w.sched.now, c.n.idx, ev, before, c.Core.RoundState())
	}
	return acts, err
}

// traceCore returns a WrapCore that puts tracedCore around what wrap (nil
// for none: the core itself) makes of node n's core.
func traceCore(wrap func(*consensus.State) engine.Core, n *node) func(*consensus.State) engine.Core {
	return func(s *consensus.State) engine.Core {
		var c engine.Core = s
		if wrap != nil {
			c = wrap(s)
		}
		return tracedCore{Core: c, n: n}
	}
}

// sent records a validly signed vote or proposal the first time it is
// sent (or relayed), under the index of the validator that signed it.
func (t *tracer) sent(w *world, m message) {
	at := w.sched.now
	switch msg := m.msg.(type) {
	case msgs.VoteMsg:
		v := msg.Vote
		if v == nil || t.seen[string(v.Signature)] {
			return
		}
		t.seen[string(v.Signature)] = true
		n, ok := t.index[v.ValidatorAddress]
		if !ok || v.ValidateBasic() != nil || !ed25519.Verify(w.nodes[n].pub(), types.VoteSignBytes(ChainID, v), v.Signature) {
			return // garbage
		}
		typ := "prevote"
		if v.Type == types.PrecommitType {
			typ = "precommit"
		}
		t.write(traceRecord{K: "vote", At: ms(at), N: n, H: v.Height, R: v.Round, T: typ, B: hashOf(v.BlockID)})
	case msgs.ProposalMsg:
		p := msg.Proposal
		if p == nil || t.seen[string(p.Signature)] {
			return
		}
		t.seen[string(p.Signature)] = true
		// The signer is the sender when it first leaves, else (a relay) the
		// validator whose key it verifies with.
		signedBy := func(n *node) bool {
			return types.VerifyProposal(ChainID, &types.Validator{PubKey: n.pub()}, p) == nil
		}
		signer := m.from
		if !signedBy(w.nodes[signer]) {
			if signer = slices.IndexFunc(w.nodes, signedBy); signer < 0 {
				return // garbage
			}
		}
		t.write(traceRecord{K: "proposal", At: ms(at), N: signer, H: p.Height, R: p.Round, B: hashOf(p.BlockID)})
	}
}

// partition records the network splitting (sides) or healing (nil).
func (t *tracer) partition(at time.Duration, sides []int) {
	t.write(traceRecord{K: "partition", At: ms(at), N: -1, Sides: sides})
}

// crashed records validator n crashing (true) or restarting (false).
func (t *tracer) crashed(at time.Duration, n int, down bool) {
	k := "restart"
	if down {
		k = "crash"
	}
	t.write(traceRecord{K: k, At: ms(at), N: n})
}
