"""防返贫动态监测: cases, their procedure, shocks, risk clearance and the village notice."""
