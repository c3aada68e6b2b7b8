import Foundation

/// How a process finds out whether it is one rank of an MPI job, and the communicator it then uses.
public enum Distributed {
    /// Environment variables that MPI launchers set in every rank: Open MPI's `mpirun`, MPICH / Intel MPI
    /// Hydra (`PMI_SIZE`), and PMIx launchers such as Slurm's `srun --mpi=pmix`.
    public static let launcherVariables = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"]
    /// Environment variables naming a rank's index among the ranks on its machine, most specific first.
    public static let localRankVariables = ["OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "PMI_LOCAL_RANK", "SLURM_LOCALID"]
    /// MPI libraries tried in order: Open MPI 3–5, the MPICH ABI (MPICH, Intel MPI, MVAPICH, Cray), unversioned.
    public static let defaultLibraries = ["libmpi.so.40", "libmpi.so.12", "libmpi.so"]
    /// Overrides the library list (a file name or path), like `--mpi-library`.
    public static let libraryVariable = "HISTOGAN_MPI_LIBRARY"

    /// True when one of `launcherVariables` is set, i.e. an MPI launcher started this process.
    public static func launchedByMPI(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        launcherVariables.contains { environment[$0] != nil }
    }

    /// The machine-local rank announced by the launcher, if any.
    public static func localRank(environment: [String: String] = ProcessInfo.processInfo.environment) -> Int? {
        for name in localRankVariables { if let v = environment[name].flatMap(Int.init) { return v } }
        return nil
    }

    /// `SingleProcessCommunicator` unless an MPI launcher started this process; then an `MPICommunicator` over
    /// `library` (or `$HISTOGAN_MPI_LIBRARY`, or `defaultLibraries`). MPI is never loaded otherwise.
    public static func communicator(library: String? = nil,
                                    environment: [String: String] = ProcessInfo.processInfo.environment) throws -> any Communicator {
        guard launchedByMPI(environment: environment) else { return SingleProcessCommunicator() }
        let libraries = (library ?? environment[libraryVariable]).map { [$0] } ?? defaultLibraries
        return try MPICommunicator(libraries: libraries, localRank: localRank(environment: environment))
    }
}
