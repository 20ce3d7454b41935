from nimbus.core.db import env_main
from nimbus.image.models import Base

env_main(Base.metadata)
