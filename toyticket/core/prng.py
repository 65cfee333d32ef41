"""Every pseudo-random stream of a sweep, in one table.

Model streams are JAX keys folded from the run's seed: key_s = fold_in(PRNGKey(seed), s).
Data streams are numpy PCG64 generators of the config's data_seed.

  stream        source                        draws                      used in
  INIT       0  fold_in(PRNGKey(seed), 0)     θ0: W1, W2                 cycle.init_dense
  SHUFFLE    1  fold_in(PRNGKey(seed), 1)     minibatch order per epoch  cycle.train_batch
                                              (shared by the seed's sparse runs)
  EMBEDDING  2  fold_in(PRNGKey(seed), 2)     C0 (random_fixed, learned) execute.dense_inputs
  FRESH      3  fold_in(PRNGKey(seed), 3)     W1, W2 of a `fresh` rewind cycle.rewind_params
  DISCOVERY  4  fold_in(PRNGKey(seed), 4)     method randomness (random) cycle.discover
  SAE        5  fold_in(PRNGKey(seed), 5)     SAE atoms (per SAE seed)   cycle.sae_readings
  SAE_FLOOR  6  fold_in(PRNGKey(seed), 6)     random directions (floor)  cycle.sae_readings
  DATA       -  default_rng(data_seed)        clauses, then train, test  task.make_task
  DECOYS     -  default_rng((data_seed, 1))   decoy clauses              task.make_decoys

A seed's dense run and all its sparse runs share INIT, SHUFFLE and EMBEDDING; the data
streams depend on the data seed only, so every model seed and size sees the same task.
"""
INIT, SHUFFLE, EMBEDDING, FRESH, DISCOVERY, SAE, SAE_FLOOR = 0, 1, 2, 3, 4, 5, 6
DECOYS = 1    # second entropy word of the decoy generator: default_rng((data_seed, DECOYS))
