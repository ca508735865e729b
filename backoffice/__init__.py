"""The back office: the pages clerks, officials and heads use all day, over every pipeline."""
