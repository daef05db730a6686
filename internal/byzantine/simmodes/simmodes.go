// Package simmodes puts package byzantine's Byzantine validators in the
// simulator (package sim): how many, which behaviour, and a mix of
// behaviours drawn from the seed. It decorates their engines through
// sim.Config.Decorate, and extends the simulator's command line
// (simcli.Extension) with --byzantine and --behaviour for the bftnode-sim
// development binary. The simulator's tests use it; the bftnode binary
// does not.
package simmodes

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/bftnode/bftnode/consensus/engine"
	"github.com/bftnode/bftnode/internal/byzantine"
	"github.com/bftnode/bftnode/sim"
	"github.com/bftnode/bftnode/sim/simcli"
)

// Mix is the behaviour that has each Byzantine validator of a run pick one
// of MixOf by seed; "mix:a,b" picks from the modes a and b.
const Mix = "mix"

// MixOf are the modes Mix picks from: all but futuretime, whose
// validator only proposes misdated blocks.
func MixOf() []byzantine.Mode {
	return slices.DeleteFunc(byzantine.Modes(), func(m byzantine.Mode) bool { return m == byzantine.FutureTime })
}

// Byzantine says which validators of a simulated network are Byzantine
// and how they misbehave.
type Byzantine struct {
	// Count is how many: the last Count validators, in key order.
	Count int
	// Behaviour is a mode of package byzantine, Mix, or "mix:" and a
	// comma-separated list of modes to pick from.
	Behaviour string
}

// Apply makes the runs of cfg have b's Byzantine validators (Count of
// cfg.Validators): it sets cfg.Decorate, and cfg.Command to the
// bftnode-sim command line that replays them.
func (b Byzantine) Apply(cfg *sim.Config) error {
	if b.Count < 0 || b.Count > cfg.Validators {
		return fmt.Errorf("--byzantine %d: want 0 to --validators (%d)", b.Count, cfg.Validators)
	}
	behaviour := b.Behaviour
	if behaviour == "" {
		behaviour = "none"
	}
	cfg.Command = fmt.Sprintf("bftnode-sim --byzantine %d --behaviour %s", b.Count, behaviour)
	if behaviour == "none" {
		if b.Count > 0 {
			return fmt.Errorf("--byzantine %d needs a --behaviour (%s)", b.Count, names())
		}
		cfg.Decorate = nil
		return nil
	}
	pick, err := parse(behaviour)
	if err != nil {
		return fmt.Errorf("--behaviour: %w", err)
	}
	count := b.Count
	cfg.Decorate = func(rng *rand.Rand, validators int) map[int]sim.Decoration {
		coalition := byzantine.NewCoalition()
		out := map[int]sim.Decoration{}
		for i := max(validators-count, 0); i < validators; i++ {
			mode := pick[0]
			if len(pick) > 1 {
				mode = pick[rng.IntN(len(pick))]
			}
			decorate := func(key ed25519.PrivateKey, d *engine.Deps) error {
				return coalition.Decorate(mode, key, sim.ChainID)(d)
			}
			out[i] = sim.Decoration{Label: string(mode), Ports: decorate}
		}
		return out
	}
	return nil
}

// errBehaviour means a --behaviour the binary does not know.
var errBehaviour = errors.New("unknown behaviour")

// parse returns the modes a behaviour picks from: one, or a mix.
func parse(behaviour string) ([]byzantine.Mode, error) {
	list, isMix := strings.CutPrefix(behaviour, Mix+":")
	switch {
	case behaviour == Mix:
		return MixOf(), nil
	case !isMix:
		list = behaviour
	}
	var modes []byzantine.Mode
	for _, name := range strings.Split(list, ",") {
		m, err := byzantine.ParseMode(name)
		if err != nil || m == byzantine.None {
			return nil, fmt.Errorf("%w %q (want %s)", errBehaviour, name, names())
		}
		modes = append(modes, m)
	}
	if !isMix && len(modes) > 1 {
		return nil, fmt.Errorf("%w %q: a list of modes needs %q before it (want %s)", errBehaviour, behaviour, Mix+":", names())
	}
	return modes, nil
}

// names lists the behaviours --behaviour takes.
func names() string {
	out := []string{"none"}
	for _, m := range byzantine.Modes() {
		out = append(out, string(m))
	}
	return strings.Join(append(out, Mix, Mix+":MODE,MODE..."), ", ")
}

// Extension is the sim command of the bftnode-sim development binary:
// --byzantine validators follow --behaviour.
func Extension() *simcli.Extension {
	var b Byzantine
	return &simcli.Extension{
		Use: "bftnode-sim",
		Help: `--byzantine validators (the last ones, in key order) follow --behaviour
(` + names() + `): equivocate proposes two blocks and votes for both,
doublevote signs a conflicting vote next to each of its own, silent sends
nothing, amnesia forgets its lock, futuretime dates its proposals an hour
after BFT time, lockattack splits the correct validators' locks as
proposer and then proposes and votes for other values, garbage sends a
malformed message next to each of its own; mix picks one per validator by
seed, among all but futuretime (mix:MODE,MODE... among those).`,
		Example: `  bftnode-sim --validators 7 --byzantine 2 --behaviour mix --seeds 500 --crashes 2
  bftnode-sim --validators 4 --byzantine 2 --behaviour equivocate --seeds 20   # beyond f: expect violations
  bftnode-sim --validators 4 --byzantine 1 --behaviour amnesia --gst none --seed 42 --json
  bftnode-sim --validators 4 --byzantine 2 --behaviour equivocate --seed 1 --trace fork.jsonl && bftnode ui fork.jsonl`,
		Flags: func(f *pflag.FlagSet) {
			f.IntVar(&b.Count, "byzantine", 0, "how many of them are Byzantine")
			f.StringVar(&b.Behaviour, "behaviour", "none", "Byzantine behaviour: "+names())
		},
		Configure: func(cfg *sim.Config) (string, error) {
			if err := b.Apply(cfg); err != nil || b.Count == 0 {
				return "", err
			}
			return fmt.Sprintf("%d Byzantine (%s)", b.Count, b.Behaviour), nil
		},
	}
}
