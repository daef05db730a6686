package e2e

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bftnode/bftnode/rpc"
)

// errScenario is wrapped by every error of a scenario file.
var errScenario = errors.New("bad scenario")

// byzantineModes are the misbehaviours scenarios run with
// `bftnode-byzantine --mode MODE`.
var byzantineModes = []string{"equivocate", "doublevote", "amnesia", "futuretime"}

// Fault kinds.
const (
	faultKill    = "kill"    // SIGKILL, stay down for Down, start again
	faultRestart = "restart" // SIGTERM, wait for a clean exit, start again
	faultPause   = "pause"   // SIGSTOP, wait Down, SIGCONT
	// faultDisconnect cuts running nodes off from their peers for Down
	// (RPC unsafe_disconnect, which the harness turns on with [rpc]
	// unsafe): every connection is closed and refused until Down has
	// passed, then the nodes redial. The processes keep running.
	faultDisconnect = "disconnect"
)

// fault is one perturbation: after waiting After, it is applied to Nodes
// (names such as node1 or full0) at once.
type fault struct {
	Kind  string
	Nodes []string
	After time.Duration
	Down  time.Duration
	// NoWait goes on to the next fault without waiting for every node to
	// catch up: the next fault may hit a node while it recovers (or, after
	// a disconnect, while it is still cut off).
	NoWait bool
}

func (f fault) String() string {
	s := fmt.Sprintf("%s %s after=%v", f.Kind, strings.Join(f.Nodes, ","), f.After)
	if f.Kind == faultDisconnect {
		s = fmt.Sprintf("%s %s %v after=%v", f.Kind, strings.Join(f.Nodes, ","), f.Down, f.After)
	} else if f.Kind != faultRestart {
		s += fmt.Sprintf(" down=%v", f.Down)
	}
	if f.NoWait {
		s += " nowait"
	}
	return s
}

// scenario is a network and the faults applied to it in order, while
// load runs.
type scenario struct {
	Name       string
	Validators int
	FullNodes  int
	Faults     []fault
	// Deadline, when set, stops applying faults once this much time has
	// passed (the long form's time-bounded runs).
	Deadline time.Duration
	// MinFaults are applied even past the Deadline.
	MinFaults int
	// Byzantine maps validators (node1…) to the test-only misbehaviour
	// they run (`bftnode-byzantine --mode MODE`): equivocate, doublevote,
	// amnesia or futuretime.
	Byzantine map[string]string
}

// String renders the scenario in the text format parseScenario reads.
func (s scenario) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\nvalidators %d\nfull %d\n", s.Name, s.Validators, s.FullNodes)
	for _, name := range slices.Sorted(maps.Keys(s.Byzantine)) {
		fmt.Fprintf(&b, "byzantine %s %s\n", name, s.Byzantine[name])
	}
	for _, f := range s.Faults {
		b.WriteString(f.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// parseScenario reads the text format: '#' comments, `validators N`,
// `full N`, `byzantine NODE MODE`, and one fault per line:
// `KIND NODE[,NODE…] [after=DUR] [down=DUR] [nowait]`, where a disconnect
// takes its duration bare: `disconnect NODE[,NODE…] DUR [after=DUR]
// [nowait]` (0 < DUR <= rpc.MaxDisconnect).
func parseScenario(name, text string) (scenario, error) {
	s := scenario{Name: name, Validators: 4}
	for i, line := range strings.Split(text, "\n") {
		if j := strings.IndexByte(line, '#'); j >= 0 {
			line = line[:j]
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		fail := func(format string, a ...any) (scenario, error) {
			return scenario{}, fmt.Errorf("%w: %s:%d: %s", errScenario, name, i+1, fmt.Sprintf(format, a...))
		}
		switch fields[0] {
		case "validators", "full":
			if len(fields) != 2 {
				return fail("want `%s N`", fields[0])
			}
			v, err := strconv.Atoi(fields[1])
			if err != nil || v < 0 || (fields[0] == "validators" && v < 1) {
				return fail("%s: bad count %q", fields[0], fields[1])
			}
			if fields[0] == "validators" {
				s.Validators = v
			} else {
				s.FullNodes = v
			}
		case "byzantine":
			if len(fields) != 3 || !slices.Contains(byzantineModes, fields[2]) {
				return fail("want `byzantine NODE MODE` with MODE one of %v", byzantineModes)
			}
			if s.Byzantine == nil {
				s.Byzantine = map[string]string{}
			}
			s.Byzantine[fields[1]] = fields[2]
		case faultKill, faultRestart, faultPause, faultDisconnect:
			if len(fields) < 2 {
				return fail("want `%s NODE[,NODE…] [after=DUR] [down=DUR] [nowait]`", fields[0])
			}
			f := fault{Kind: fields[0], Nodes: strings.Split(fields[1], ","), Down: time.Second}
			for _, opt := range fields[2:] {
				if opt == "nowait" {
					f.NoWait = true
					continue
				}
				if d, err := time.ParseDuration(opt); err == nil && f.Kind == faultDisconnect {
					f.Down = d // disconnect NODE DUR
					continue
				}
				k, v, ok := strings.Cut(opt, "=")
				d, err := time.ParseDuration(v)
				if !ok || err != nil || d < 0 {
					return fail("option %q: want after=DUR or down=DUR with a Go duration", opt)
				}
				switch k {
				case "after":
					f.After = d
				case "down":
					f.Down = d
				default:
					return fail("unknown option %q", k)
				}
			}
			if f.Kind == faultDisconnect && (f.Down <= 0 || f.Down > rpc.MaxDisconnect) {
				return fail("disconnect for %v: want a duration in (0, %v]", f.Down, rpc.MaxDisconnect)
			}
			s.Faults = append(s.Faults, f)
		default:
			return fail("unknown directive %q", fields[0])
		}
	}
	for _, f := range s.Faults {
		for _, n := range f.Nodes {
			if _, err := s.nodeIndex(n); err != nil {
				return scenario{}, err
			}
		}
	}
	for n := range s.Byzantine {
		if k, err := s.nodeIndex(n); err != nil || k >= s.Validators {
			return scenario{}, fmt.Errorf("%w: %s: byzantine %s: not a validator", errScenario, name, n)
		}
	}
	return s, nil
}

// nodeIndex maps a node name to its index in network.procs: validators
// first (node0…), then full nodes (full0…).
func (s scenario) nodeIndex(name string) (int, error) {
	var base, limit int
	var num string
	switch {
	case strings.HasPrefix(name, "node"):
		base, limit, num = 0, s.Validators, strings.TrimPrefix(name, "node")
	case strings.HasPrefix(name, "full"):
		base, limit, num = s.Validators, s.FullNodes, strings.TrimPrefix(name, "full")
	default:
		return 0, fmt.Errorf("%w: %s: unknown node %q (want nodeK or fullK)", errScenario, s.Name, name)
	}
	k, err := strconv.Atoi(num)
	if err != nil || k < 0 || k >= limit {
		return 0, fmt.Errorf("%w: %s: no node %q in a network of %d validators and %d full nodes", errScenario, s.Name, name, s.Validators, s.FullNodes)
	}
	return base + k, nil
}

// randomScenario draws count faults from seed: kills, restarts, pauses and
// disconnects of up to f = (validators-1)/3 validators at once (at least one), and of
// the full nodes, at random moments.
func randomScenario(name string, seed int64, validators, fullNodes, count int) scenario {
	r := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	s := scenario{Name: name, Validators: validators, FullNodes: fullNodes}
	maxFaulty := max(1, (validators-1)/3)
	for range count {
		f := fault{After: time.Duration(r.IntN(1500)) * time.Millisecond}
		switch x := r.IntN(20); {
		case x < 10:
			f.Kind, f.Down = faultKill, time.Duration(100+r.IntN(1900))*time.Millisecond
		case x < 13:
			f.Kind = faultRestart
		case x < 17:
			f.Kind, f.Down = faultPause, time.Duration(500+r.IntN(2500))*time.Millisecond
		default:
			f.Kind, f.Down = faultDisconnect, time.Duration(1000+r.IntN(3000))*time.Millisecond
		}
		for _, v := range r.Perm(validators)[:1+r.IntN(maxFaulty)] {
			f.Nodes = append(f.Nodes, fmt.Sprintf("node%d", v))
		}
		if fullNodes > 0 && r.IntN(4) == 0 {
			f.Nodes = append(f.Nodes, fmt.Sprintf("full%d", r.IntN(fullNodes)))
		}
		s.Faults = append(s.Faults, f)
	}
	return s
}

// crashScenario SIGKILLs one validator (drawn from seed) count times at
// random moments, each time restarting it after a short random downtime.
func crashScenario(name string, seed int64, validators, count int) scenario {
	r := rand.New(rand.NewPCG(uint64(seed), 0xdead))
	victim := fmt.Sprintf("node%d", r.IntN(validators))
	s := scenario{Name: name, Validators: validators}
	for range count {
		s.Faults = append(s.Faults, fault{
			Kind:  faultKill,
			Nodes: []string{victim},
			After: time.Duration(r.IntN(2000)) * time.Millisecond,
			Down:  time.Duration(r.IntN(500)) * time.Millisecond,
		})
	}
	return s
}
