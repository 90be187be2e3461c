import ArgumentParser
import CHostCPU
import LinearAlgebra

rv_require_build_target()  // before any kernel compiled for the build's target CPU runs
OpenBLASCore.reexecIfSlowKernels()
River.runMain()
