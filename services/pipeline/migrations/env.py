from crm_common.migrations import run_env
from pipeline.models import Base

run_env(Base.metadata)
