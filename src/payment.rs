//! Payment helpers: paySig and user-state signatures, typed payment params.
