import ArgumentParser
import LinearAlgebra

OpenBLASCore.reexecIfSlowKernels()
River.runMain()
