package chtest

func stopClusters() {}
