import ArgumentParser
import LinearAlgebra

OpenBLASCore.reexecIfSlowKernels()
River.main()
