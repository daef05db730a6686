package sim

import "testing"

func TestQuickOne(t *testing.T) {
	for _, n := range []int{4, 7} {
		for _, b := range append(Behaviours, Correct) {
			f := (n - 1) / 3
			for _, byz := range []int{f, f + 1} {
				if b == Correct {
					byz = 0
				}
				var s Summary
				for seed := uint64(1); seed <= 50; seed++ {
					cfg := DefaultConfig()
					cfg.Validators, cfg.Byzantine, cfg.Behaviour, cfg.Crashes = n, byz, b, 2
					cfg.Seed = seed
					r, err := Run(cfg)
					if err != nil {
						t.Fatal(err)
					}
					s.Add(r)
				}
				kinds := map[string]int{}
				for _, v := range s.Violations {
					kinds[v.Kind]++
				}
				t.Logf("n=%d byz=%d %-10s heights %d msgs/h %.0f stats %+v violations %v", n, byz, b, s.HeightsDecided, s.MessagesPerHeight, s.Stats, kinds)
				if len(s.Violations) > 0 {
					t.Logf("  first: %v %s", s.Violations[0].Violation, s.Violations[0].Replay)
				}
			}
		}
	}
}
