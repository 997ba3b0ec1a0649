package main

// RedisConfig is the optional Redis server shared by several statusd nodes.
type RedisConfig struct {
	Address  string
	Password string
	DB       int
}

type rawRedis struct {
	Address  *string `yaml:"address"`
	Password *string `yaml:"password"`
	DB       *int    `yaml:"db"`
}

// envRedisPassword, when set, replaces redis.password.
const envRedisPassword = "STATUSD_REDIS_PASSWORD"

func (c *checker) redis(file *rawConfig, cfg *Config) {
	raw := file.Redis
	if raw == nil {
		return
	}
	r := &RedisConfig{}
	if raw.Address == nil || *raw.Address == "" {
		c.missing("redis", "address")
	} else if err := checkHostPort(*raw.Address, false); err != nil {
		c.add("redis.address", "%q is not host:port, such as 127.0.0.1:6379 (%v)", *raw.Address, err)
	} else {
		r.Address = *raw.Address
	}
	r.Password = c.secret("redis.password", raw.Password, envRedisPassword)
	if raw.DB != nil {
		if *raw.DB < 0 {
			c.add("redis.db", "%d must not be negative", *raw.DB)
		} else {
			r.DB = *raw.DB
		}
	}
	cfg.Redis = r
}
